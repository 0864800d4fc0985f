"""Every JSON body is read by one guarded path, whatever its declared type and charset.

DRF picks a parser by matching the request's Content-Type against the parser's
media type, and wildcards match both ways: `*/*`, `application/*` and
`application/json; charset=utf-16` all reach the JSON parser. So the guards live
here, in the parser, not in a middleware that looks at the Content-Type: the body
is transcoded to UTF-8 from its declared charset, then refused if it is larger
than the request limit, nests deeper than MAX_JSON_DEPTH (json.loads would raise
RecursionError) or holds an unpaired surrogate escape (no text encoding, hashing
or PostgreSQL column can hold one).
"""

import codecs
import json
import re

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError, UnsupportedMediaType
from rest_framework.parsers import JSONParser

from registry.error_codes import ErrorCode


class BodyRefused(Exception):
    """A body the guards refuse: status, detail and machine code for the answer."""

    def __init__(self, status: int, detail: str, code: str):
        super().__init__(detail)
        self.status, self.detail, self.code = status, detail, code


def guarded_json_bytes(stream, encoding: str | None) -> bytes:
    """The body as UTF-8 bytes that json.loads can read safely; BodyRefused otherwise."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    body = stream.read() if limit is None else stream.read(limit + 1)
    if limit is not None and len(body) > limit:
        raise BodyRefused(
            413, f"The request body is larger than {limit} bytes; split it.", ErrorCode.TOO_LARGE
        )
    body = _as_utf8(body, encoding or "utf-8")
    # The regex scans the whole body; only a body with a surrogate escape needs it.
    if (b"\\ud" in body or b"\\uD" in body) and _LONE_SURROGATE.search(body):
        raise BodyRefused(
            400, "The JSON body holds an unpaired surrogate (\\ud800-\\udfff).", ErrorCode.INVALID
        )
    if json_nesting_exceeds(body, settings.MAX_JSON_DEPTH):
        detail = f"The JSON body is nested more than {settings.MAX_JSON_DEPTH} levels deep."
        raise BodyRefused(400, detail, ErrorCode.TOO_DEEP)
    return body


def _as_utf8(body: bytes, encoding: str) -> bytes:
    try:
        codec = codecs.lookup(encoding)
    except LookupError:
        raise BodyRefused(
            415, f"Unknown charset '{encoding[:40]}'; send UTF-8.", ErrorCode.UNSUPPORTED_MEDIA_TYPE
        ) from None
    if codec.name == "utf-8":
        return body  # json.loads checks it is UTF-8 as it reads
    try:
        # A strict decode never yields a surrogate, so the re-encoding cannot fail.
        return body.decode(codec.name).encode("utf-8")
    except UnicodeDecodeError as error:
        raise BodyRefused(
            400, f"The body is not valid {codec.name}: {error.reason}.", ErrorCode.INVALID
        ) from None


_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
# A \uD800-\uDBFF escape not followed by a \uDC00-\uDFFF one, or the latter alone.
_LONE_SURROGATE = re.compile(
    rb"(?<!\\)(?:\\\\)*\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})(?<!\\)(?:\\\\)*\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def json_nesting_exceeds(body: bytes, depth: int) -> bool:
    """True if arrays and objects nest deeper than `depth`; C-speed byte operations only."""
    if body.count(b"[") + body.count(b"{") <= depth:
        return False
    brackets = _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    for _ in range(depth):  # each pass removes the innermost level
        peeled = brackets.replace(b"[]", b"").replace(b"{}", b"")
        if peeled == brackets:  # unbalanced: refused anyway, but json.loads could recurse
            return len(peeled) > depth
        if not peeled:
            return False
        brackets = peeled
    return True


class GuardedJSONParser(JSONParser):
    """DRF's JSON parser behind the body guards; NaN and Infinity are not JSON."""

    def parse(self, stream, media_type=None, parser_context=None):
        if stream is None:
            return None
        try:
            body = guarded_json_bytes(stream, (parser_context or {}).get("encoding"))
        except BodyRefused as refused:
            raise as_api_exception(refused) from None
        try:
            return json.loads(body, parse_constant=_not_a_number)
        except ValueError as error:  # JSONDecodeError and UnicodeDecodeError
            raise ParseError(f"JSON parse error - {error}") from None


class BodyTooLarge(APIException):
    # Not api.problems.PayloadTooLarge: DRF imports the parsers while api.problems loads.
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = ErrorCode.TOO_LARGE


def as_api_exception(refused: BodyRefused):
    if refused.status == 413:
        return BodyTooLarge(refused.detail, code=refused.code)
    if refused.status == 415:
        return UnsupportedMediaType(refused.detail, detail=refused.detail, code=refused.code)
    return ParseError(refused.detail, code=refused.code)


def _not_a_number(name: str):
    raise ValueError(f"{name} is not a JSON number")
