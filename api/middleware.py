"""Request guards that hold for every endpoint, before any view runs."""

import base64
import codecs
import hashlib
import json
import re

from django.conf import settings
from django.db import DatabaseError, OperationalError, connection
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.http import parse_header_parameters

from api.parsers import json_charset_refusal
from api.problems import PROBLEM_CONTENT_TYPE, problem, problem_response
from registry.error_codes import ErrorCode


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


class StatementTimeoutMiddleware:
    """No SQL statement of an API request runs longer than API_STATEMENT_TIMEOUT_MS.

    Set on the connection for the request and reset after it, so management
    commands (migrate, synth, bench) in the same process keep no limit. A
    statement cancelled by it surfaces as OperationalError, which the problem
    handler answers 503 ("statement_timeout"). Behind PgBouncer in transaction
    mode a session setting would leak to other clients: there, set the timeout
    on the web role instead (ALTER ROLE ... SET statement_timeout) and this to 0.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        timeout = settings.API_STATEMENT_TIMEOUT_MS
        if (
            not timeout
            or connection.vendor != "postgresql"
            or not request.path.startswith(settings.API_PATH_PREFIX)
        ):
            return self.get_response(request)
        # Set before the request's first statement, so that a request that reads
        # nothing (the API index, a 404) costs the database nothing.
        budget = _StatementBudget(str(timeout))
        try:
            with connection.execute_wrapper(budget):
                return self.get_response(request)
        finally:
            if budget.set:
                _set_statement_timeout(None)


class _DatabaseUnreachable(OperationalError):
    """The statement timeout could not be set: answered 503 like any lost database."""


class _StatementBudget:
    """An execute wrapper that sets the timeout once, before the first statement."""

    def __init__(self, timeout: str):
        self.timeout = timeout
        self.set = False

    def __call__(self, execute, sql, params, many, context):
        if not self.set:
            self.set = True  # the set_config statement below passes through this wrapper too
            if not _set_statement_timeout(self.timeout):
                self.set = False
                raise _DatabaseUnreachable("The statement timeout could not be set.")
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
