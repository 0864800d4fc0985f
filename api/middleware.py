"""Request guards that hold for every endpoint, before any view runs."""

import base64
import codecs
import contextlib
import hashlib
import json
import math
import re
import time

from django.conf import settings
from django.db import DatabaseError, OperationalError, connection, connections, transaction
from django.urls import Resolver404, resolve
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.http import parse_header_parameters

from api.faults import fault_of
from api.home import api_not_found
from api.parsers import json_charset_refusal
from api.problems import (
    FAULT_RETRY_AFTER_SECONDS,
    PROBLEM_CONTENT_TYPE,
    problem,
    problem_response,
)
from registry.error_codes import ErrorCode
from registry.work_budget import (
    BudgetExceeded,
    budget_check,
    budget_remaining_seconds,
    work_budget,
)


class UrlLengthMiddleware:
    """A URL longer than MAX_URL_LENGTH is a 414 problem, not a page from the server in front.

    gunicorn refuses request lines over its limit_request_line (gunicorn.conf.py: 8190,
    its maximum) with an HTML page before Django sees them; this cap sits below it,
    and above the longest valid query (every filter at its maximum length), so every
    URL a client can send either works or gets a problem document.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        length = len(request.path) + len(request.META.get("QUERY_STRING", ""))
        if length > settings.MAX_URL_LENGTH:
            return problem_response(
                414,
                f"The URL is longer than {settings.MAX_URL_LENGTH} characters.",
                ErrorCode.URI_TOO_LONG,
            )
        return self.get_response(request)


# Charsets a form outside the API may also come in; the API reads JSON's encodings only.
FORM_CHARSETS = frozenset({"iso8859-1", "iso8859-15", "cp1252"})  # codecs.lookup names


def charset_refusal(path: str, content_type: str) -> str | None:
    """Why the Content-Type's charset cannot be read on `path`, or None (none, or a good one)."""
    _, params = parse_header_parameters(content_type)
    charset = params.get("charset")
    if charset is None:
        return None
    refusal = json_charset_refusal(charset)
    if refusal and not path.startswith(settings.API_PATH_PREFIX):
        try:
            if codecs.lookup(charset).name in FORM_CHARSETS:
                return None
        except LookupError:
            pass
    return refusal


class RequestCharsetMiddleware:
    """A charset that is no text encoding of JSON is a 415 problem.

    For the charsets Django can decode with (utf-7, latin-1 on the API, an unknown
    name that Django ignores); those it cannot (base64, zlib, rot13...) fail while
    Django builds the request, so CharsetGuardApplication refuses them before that.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        refusal = charset_refusal(request.path, request.META.get("CONTENT_TYPE", ""))
        if refusal:
            return problem_response(415, refusal, ErrorCode.UNSUPPORTED_MEDIA_TYPE)
        return self.get_response(request)


class CharsetGuardApplication:
    """WSGI wrapper (config/wsgi.py): a 415 problem for a charset Django would crash on.

    Django decodes the query string with the declared charset while it builds the
    request object, before any middleware: `charset=base64` raises LookupError
    there, which gunicorn would answer with a bare 500.
    """

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        refusal = charset_refusal(environ.get("PATH_INFO", ""), environ.get("CONTENT_TYPE", ""))
        if not refusal:
            return self.application(environ, start_response)
        body = json.dumps(problem(415, refusal, ErrorCode.UNSUPPORTED_MEDIA_TYPE)).encode()
        start_response(
            "415 Unsupported Media Type",
            [
                ("Content-Type", PROBLEM_CONTENT_TYPE),
                ("Content-Length", str(len(body))),
                ("Content-Security-Policy", DATA_POLICY),
                ("X-Content-Type-Options", "nosniff"),
            ],
        )
        return [body]


class RejectNulInQueryMiddleware:
    """A NUL character in the query string is a 400, not a database error.

    PostgreSQL text cannot hold NUL, so a filter containing one would fail deep in
    the query; refusing it up front keeps "never a 500 for client input".
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if any("\x00" in value for values in request.GET.lists() for value in values[1]) or any(
            "\x00" in key for key in request.GET
        ):
            return problem_response(
                400, "The query string contains a NUL character.", ErrorCode.INVALID
            )
        return self.get_response(request)


# ---------------------------------------------------------------- request bodies


class RequestBodyGuardMiddleware:
    """Bodies declared larger than DATA_UPLOAD_MAX_MEMORY_SIZE are refused (413) unread.

    What a body holds (charset, nesting, lone surrogates) is checked by the one
    JSON parser every API view uses (api.parsers), whatever the Content-Type says.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return problem_response(
                400, "The Content-Length header is not a number.", ErrorCode.INVALID
            )
        if length < 0:
            return problem_response(
                400, "The Content-Length header is negative.", ErrorCode.INVALID
            )
        if limit is not None and length > limit:
            return problem_response(
                413,
                f"The request body is larger than {limit} bytes; split it.",
                ErrorCode.TOO_LARGE,
            )
        return self.get_response(request)


# ---------------------------------------------------------------- Content-Security-Policy

_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL | re.I)
# Pages (admin, Swagger UI, ReDoc) load scripts, styles and fonts only from this origin.
# ReDoc injects <style> elements and runs a blob: worker; Swagger UI draws data: icons.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# JSON, CSV and problem documents are never rendered as pages.
DATA_POLICY = "default-src 'none'; frame-ancestors 'none'"


class ContentSecurityPolicyMiddleware:
    """A Content-Security-Policy on every response: 'self' only, inline scripts by hash.

    The inline scripts of a page (Swagger UI's initialiser) are allowed by their
    SHA-256, computed from the page itself, so no 'unsafe-inline' is needed.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "Content-Security-Policy" in response:
            return response
        if response.get("Content-Type", "").startswith("text/html") and not response.streaming:
            hashes = "".join(
                f" 'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
                for script in _INLINE_SCRIPT.findall(response.content)
            )
            response["Content-Security-Policy"] = PAGE_POLICY.format(hashes=hashes)
        else:
            response["Content-Security-Policy"] = DATA_POLICY
        return response


# ---------------------------------------------------------------- caching


class ApiCachingHeadersMiddleware:
    """Shared caches never keep patient-level data, nor one role's answer for another.

    Every API answer depends on the credentials (a submitter sees its own cases, an
    analyst protected counts, a curator exact ones) and on Accept (JSON, CSV or the
    browsable page), so each says Vary: Accept, Authorization, Cookie; answers about
    individual cases (PATIENT_LEVEL_PATH_PREFIXES) also say Cache-Control: no-store.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith(settings.API_PATH_PREFIX):
            patch_vary_headers(response, ("Accept", "Authorization", "Cookie"))
            if request.path.startswith(settings.PATIENT_LEVEL_PATH_PREFIXES):
                patch_cache_control(response, no_store=True, private=True)
        return response


# ---------------------------------------------------------------- work budget


class RequestBudgetMiddleware:
    """An API request has API_REQUEST_BUDGET_MS of wall-clock time, statements and Python alike.

    A statement timeout alone let a request run 33 statements of 0.6 s each. So the
    request gets a deadline (registry.work_budget): every SQL statement checks it
    first, the batch checks it between items, and on PostgreSQL each statement's
    timeout is at most what is left of the budget (and at most
    API_STATEMENT_TIMEOUT_MS). A write runs in one transaction, so a request past
    its budget answers 503 (`request_budget_exceeded`, Retry-After) with nothing
    written, even when only its last Python steps ran late.

    The timeout is a session setting, reset after the request, so management
    commands (migrate, synth, bench) in the same process keep no limit. Behind
    PgBouncer in transaction mode a session setting would leak to other clients:
    there, set the timeout on the web role instead (ALTER ROLE ... SET
    statement_timeout) and API_STATEMENT_TIMEOUT_MS to 0; the budget is then
    checked between statements only.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(settings.API_PATH_PREFIX):
            return self.get_response(request)
        budget_ms = settings.API_REQUEST_BUDGET_MS
        timeout = settings.API_STATEMENT_TIMEOUT_MS if connection.vendor == "postgresql" else 0
        guard = _StatementBudget(timeout)
        try:
            with work_budget(budget_ms):
                try:
                    response = self._within_budget(request, guard)
                except BudgetExceeded:
                    response = over_budget_response(budget_ms)
                except DatabaseError as error:  # a statement cut short by the budget's timeout
                    fault = fault_of(error)
                    if fault is None or fault[0] != ErrorCode.REQUEST_BUDGET_EXCEEDED:
                        raise
                    response = over_budget_response(budget_ms)
        finally:
            if guard.current is not None:
                _set_statement_timeout(None)
        return response

    def _within_budget(self, request, guard):
        writes = _writes_to_a_view(request)
        with contextlib.ExitStack() as stack:
            if writes:
                # One transaction: a write past its budget leaves nothing behind.
                stack.enter_context(transaction.atomic())
            # Entered after the transaction, so left before its commit or rollback.
            stack.enter_context(connection.execute_wrapper(guard))
            for other in connections.all(initialized_only=True):
                if other.alias != connection.alias:
                    stack.enter_context(other.execute_wrapper(_budget_only))
            response = self.get_response(request)
            remaining = budget_remaining_seconds()
            if remaining is not None and remaining < 0:
                if writes:
                    transaction.set_rollback(True)  # our own transaction, opened above
                response = over_budget_response(settings.API_REQUEST_BUDGET_MS)
            return response


def _writes_to_a_view(request) -> bool:
    """A write that reaches a view: an unknown URL is a 404 that needs no transaction."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return False
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return False
    return match.func is not api_not_found


def over_budget_response(budget_ms: int):
    code, detail = fault_of(BudgetExceeded(budget_ms))
    response = problem_response(503, detail, code)
    response["Retry-After"] = str(FAULT_RETRY_AFTER_SECONDS)
    return response


def _budget_only(execute, sql, params, many, context):
    if not _is_savepoint_statement(sql):
        budget_check()
    return execute(sql, params, many, context)


def _is_savepoint_statement(sql) -> bool:
    # Rolling back to a savepoint must never be refused: it is how the work is undone.
    return isinstance(sql, str) and sql.startswith(("SAVEPOINT", "RELEASE ", "ROLLBACK "))


class _DatabaseUnreachable(OperationalError):
    """The statement timeout could not be set: answered 503 like any lost database."""


class _StatementBudget:
    """An execute wrapper: the budget checked before each statement, and each statement's
    timeout no longer than the budget left (set again only when that shrinks below it)."""

    def __init__(self, timeout_ms: int):
        self.timeout_ms = timeout_ms
        self.current: int | None = None  # the timeout now set on the connection
        self._setting = False

    def __call__(self, execute, sql, params, many, context):
        # The set_config statement below passes through this wrapper too.
        if self._setting or _is_savepoint_statement(sql):
            return execute(sql, params, many, context)
        budget_check()
        if self.timeout_ms:
            wanted = self.timeout_ms
            remaining = budget_remaining_seconds()
            if remaining is not None:
                wanted = max(1, min(wanted, math.ceil(remaining * 1000)))
            if self.current is None or wanted < self.current:
                self._setting = True
                try:
                    if not _set_statement_timeout(str(wanted)):
                        raise _DatabaseUnreachable("The statement timeout could not be set.")
                finally:
                    self._setting = False
                self.current = wanted
        return execute(sql, params, many, context)


def _set_statement_timeout(value: str | None) -> bool:
    """Sets (or, with None, resets) the default connection's timeout; False if unreachable."""
    try:
        with connection.cursor() as cursor:
            if value is None:
                cursor.execute("RESET statement_timeout")
            else:
                cursor.execute("SELECT set_config('statement_timeout', %s, false)", [value])
        return True
    except DatabaseError:
        # A connection in a failed state is closed, so the next request gets a fresh one
        # (not inside a transaction someone else opened: a test's, for instance).
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()
        return False


# ---------------------------------------------------------------- statistics pool

# Advisory-lock class of the statistics slots (two-int keys: apart from idempotency's bigints).
STATISTICS_LOCK_CLASS = 0x5354  # "ST"
STATISTICS_RETRY_AFTER_SECONDS = 2


class StatisticsPoolMiddleware:
    """At most API_STATISTICS_CONCURRENCY statistics requests run at once, on every server.

    At a million cases a site profile or a survival table takes seconds; two of them
    made a hospital's trivial read wait 25 s for a worker. A statistics request
    takes one of the slots, a PostgreSQL transaction-scoped advisory lock (shared
    by every worker and server, dropped by the server when the transaction ends or
    the worker dies). When all are taken it waits up to API_STATISTICS_WAIT_MS for
    one (a dashboard asks three or four tables at once), then answers 503
    `statistics_busy` with Retry-After.
    One transaction holds the lock, so it works behind PgBouncer in transaction mode.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        slots = settings.API_STATISTICS_CONCURRENCY
        if (
            not slots
            or request.method not in ("GET", "HEAD")
            or not request.path.startswith(settings.STATISTICS_PATH_PREFIXES)
            or connection.vendor != "postgresql"
        ):
            return self.get_response(request)
        with transaction.atomic():
            deadline = time.monotonic() + settings.API_STATISTICS_WAIT_MS / 1000
            slot = statistics_slot_take(slots)
            while slot is None and time.monotonic() < deadline:
                time.sleep(STATISTICS_POLL_SECONDS)
                slot = statistics_slot_take(slots)
            if slot is None:
                response = problem_response(
                    503,
                    f"All {slots} statistics slots are busy; retry in a few seconds.",
                    ErrorCode.STATISTICS_BUSY,
                )
                response["Retry-After"] = str(STATISTICS_RETRY_AFTER_SECONDS)
                return response
            return self.get_response(request)


# How often a waiting statistics request looks for a free slot.
STATISTICS_POLL_SECONDS = 0.05


def statistics_slot_take(slots: int) -> int | None:
    """Inside a transaction: the slot now held until it ends, or None when all are taken."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT slot FROM generate_series(0, %s - 1) AS slot "
            "WHERE pg_try_advisory_xact_lock(%s, slot) LIMIT 1",
            [slots, STATISTICS_LOCK_CLASS],
        )
        row = cursor.fetchone()
    return None if row is None else row[0]
