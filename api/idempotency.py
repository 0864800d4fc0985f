"""`Idempotency-Key` on POST: a resent request gets the first response, not a second case.

The same key with the same request (method, path and JSON body) returns the
stored status and body, marked `Idempotent-Replayed: true`; with a different
request, 422; while the first is still being processed, 409 with Retry-After.
A request that fails, for whatever reason (an error answer, the database gone, a
killed worker), stores nothing, so the client may retry it under the same key at
once (see registry.services.idempotency). Keys are scoped per token and expire after
`REGISTRY_IDEMPOTENCY_TTL_HOURS`.
"""

import functools
import hashlib
import json
import re

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from api.problems import IdempotencyKeyInFlight, IdempotencyKeyReused
from registry.models import ApiToken
from registry.services.idempotency import KeyInFlight, idempotency_complete, idempotency_take

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, as a UUID or any client token
_REPLAYED_HEADERS = ("ETag", "Location")

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    HEADER,
    location=OpenApiParameter.HEADER,
    required=False,
    pattern=r"^[\x21-\x7e]{1,255}$",
    description=(
        "A unique value per request (a UUID is ideal), 1-255 visible ASCII characters. "
        "Resending the same request with the same key within the expiry (24 h by default) "
        "returns the first response (header Idempotent-Replayed: true) and creates nothing; "
        "the same key with a different body is refused with 422; while the first request "
        "is still in progress the answer is 409. Keys are scoped to your token."
    ),
)

REPLAYED_PARAMETER = OpenApiParameter(
    REPLAYED_HEADER,
    location=OpenApiParameter.HEADER,
    response=[200, 201],
    required=False,
    enum=["true"],
    description="Present when this is the stored response to an earlier request with the key.",
)


def idempotent(view_method):
    """Wraps a view method (create, batch) to honour the Idempotency-Key header."""

    @functools.wraps(view_method)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return view_method(view, request, *args, **kwargs)
        if not _KEY.match(key):
            raise ValidationError({HEADER: ["Use 1-255 visible ASCII characters, e.g. a UUID."]})
        token = request.auth if isinstance(request.auth, ApiToken) else None
        fingerprint = request_fingerprint(request)
        # The key, the work and the stored response commit together, or none of them does.
        with transaction.atomic():
            try:
                held = idempotency_take(user=request.user, token=token, key=key)
            except KeyInFlight:
                raise _in_flight() from None
            if held is not None:
                return _answer_for_held_key(held, fingerprint)
            response = view_method(view, request, *args, **kwargs)
            if response.status_code >= 400:
                # Not kept: the client may fix the request and resend it under the same key.
                transaction.set_rollback(True)
                return response
            idempotency_complete(
                user=request.user,
                token=token,
                key=key,
                fingerprint=fingerprint,
                status_code=response.status_code,
                body=response.data,
                headers={k: response[k] for k in _REPLAYED_HEADERS if response.has_header(k)},
            )
        return response

    return wrapper


def request_fingerprint(request) -> str:
    """SHA-256 of method, path (with query) and the body as canonical JSON."""
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    text = f"{request.method}\n{request.get_full_path()}\n{body}"
    # ensure_ascii and surrogatepass: no text the parser let through can fail to hash.
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _answer_for_held_key(record, fingerprint: str) -> Response:
    if record.fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    headers = {**record.response_headers, REPLAYED_HEADER: "true"}
    return Response(json.loads(record.response_body), status=record.status_code, headers=headers)


def _in_flight() -> IdempotencyKeyInFlight:
    exc = IdempotencyKeyInFlight()
    # Only a live request holds a key (its lock goes with its transaction), and requests
    # finish within the statement budget: a second is the honest first wait.
    exc.wait = 1  # DRF sends it as Retry-After
    return exc
