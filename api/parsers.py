"""Every JSON body is decoded once, guarded, then parsed, whatever its declared type.

DRF picks a parser by matching the request's Content-Type against the parser's
media type, and wildcards match both ways: `*/*`, `application/*` and
`application/json; charset=utf-16` all reach the JSON parser. So the guards live
here, in the parser, not in a middleware that looks at the Content-Type.

Decode, then parse: the body is decoded to text from one of JSON's own encodings
(RFC 8259 and RFC 7159 section 8.1: UTF-8, or UTF-16/32 named by a charset or
a byte-order mark), and json.loads reads that text, never bytes: given bytes it
would guess UTF-16/32 from NUL patterns by itself, past the guards. A charset that
is no text encoding of JSON (base64, zlib, rot13, utf-7, punycode, latin-1...) is
a 415 (api.middleware.RequestCharsetMiddleware refuses it before anything decodes
the query string with it). The guards then run on the decoded text, as UTF-8:
the size limit, nesting deeper than MAX_JSON_DEPTH (json.loads would raise
RecursionError), an unpaired surrogate escape (no text encoding, hashing or
PostgreSQL column can hold one), and numbers longer than MAX_JSON_NUMBER_CHARS.
"""

import codecs
import json
import re

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError, UnsupportedMediaType
from rest_framework.parsers import JSONParser

from registry.error_codes import ErrorCode

# Codec names (as codecs.lookup spells them) of the encodings JSON may come in.
JSON_ENCODINGS = frozenset(
    {"utf-8", "utf-8-sig", "ascii"}
    | {f"utf-{bits}{order}" for bits in (16, 32) for order in ("", "-le", "-be")}
)
# Byte-order marks, longest first (the UTF-32-LE mark begins with UTF-16-LE's).
_BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


class BodyRefused(Exception):
    """A body the guards refuse: status, detail and machine code for the answer."""

    def __init__(self, status: int, detail: str, code: str):
        super().__init__(detail)
        self.status, self.detail, self.code = status, detail, code


def json_charset_refusal(charset: str) -> str | None:
    """Why a declared charset cannot carry JSON, or None if it can."""
    try:
        name = codecs.lookup(charset).name
    except LookupError:
        return f"Unknown charset '{charset[:40]}'; send UTF-8."
    if name not in JSON_ENCODINGS:
        return f"JSON is sent in UTF-8 (or UTF-16/32), not '{charset[:40]}'."
    return None


def guarded_json_text(stream, encoding: str | None) -> str:
    """The body as text that json.loads can read safely; BodyRefused otherwise.

    `encoding` is the declared charset (None when the Content-Type names none).
    """
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    body = stream.read() if limit is None else stream.read(limit + 1)
    if limit is not None and len(body) > limit:
        raise BodyRefused(
            413, f"The request body is larger than {limit} bytes; split it.", ErrorCode.TOO_LARGE
        )
    text, codec = _decoded(body, encoding)
    # The guards read UTF-8 bytes: the body itself when it was UTF-8, else one re-encoding
    # (a strict decode never yields a surrogate, so it cannot fail).
    utf8 = body if codec in ("utf-8", "ascii") else text.encode("utf-8")
    # The regex scans the whole body; only a body with a surrogate escape needs it.
    if (b"\\ud" in utf8 or b"\\uD" in utf8) and _LONE_SURROGATE.search(utf8):
        raise BodyRefused(
            400, "The JSON body holds an unpaired surrogate (\\ud800-\\udfff).", ErrorCode.INVALID
        )
    if json_nesting_exceeds(utf8, settings.MAX_JSON_DEPTH):
        detail = f"The JSON body is nested more than {settings.MAX_JSON_DEPTH} levels deep."
        raise BodyRefused(400, detail, ErrorCode.TOO_DEEP)
    return text


def _decoded(body: bytes, encoding: str | None) -> tuple[str, str]:
    """Strictly decoded from the declared charset, else from a byte-order mark, else UTF-8."""
    if encoding is not None:
        refusal = json_charset_refusal(encoding)
        if refusal:
            raise BodyRefused(415, refusal, ErrorCode.UNSUPPORTED_MEDIA_TYPE)
        name = codecs.lookup(encoding).name
    else:
        name = next((n for mark, n in _BYTE_ORDER_MARKS if body.startswith(mark)), "utf-8")
    try:
        text = body.decode(name)
    except UnicodeDecodeError as error:
        raise BodyRefused(
            400, f"The body is not valid {name}: {error.reason}.", ErrorCode.INVALID
        ) from None
    return text.removeprefix("\ufeff"), name  # a byte-order mark is no part of the JSON text


def json_loads(text: str, *, parse_float=float):
    """json.loads with numbers of at most MAX_JSON_NUMBER_CHARS characters; ValueError else.

    Python converts a long integer in time quadratic in its digits (and refuses more
    than 4,300 with a ValueError some callers would not expect); no registry
    value needs more than a few digits.
    """
    return json.loads(
        text,
        parse_int=_capped(int),
        parse_float=_capped(parse_float),
        parse_constant=_not_a_number,
    )


def _capped(convert):
    limit = settings.MAX_JSON_NUMBER_CHARS

    def read(literal: str):
        if len(literal) > limit:
            raise ValueError(f"a number is longer than {limit} characters")
        return convert(literal)

    return read


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
            text = guarded_json_text(stream, declared_charset(parser_context))
        except BodyRefused as refused:
            raise as_api_exception(refused) from None
        try:
            return json_loads(text)
        except ValueError as error:  # JSONDecodeError, long numbers, NaN
            raise ParseError(f"JSON parse error - {error}") from None


def declared_charset(parser_context) -> str | None:
    """The charset the Content-Type names, or None (DRF fills in DEFAULT_CHARSET otherwise)."""
    request = (parser_context or {}).get("request")
    if request is None:
        return (parser_context or {}).get("encoding")
    return request.content_params.get("charset") if request.content_params else None


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
