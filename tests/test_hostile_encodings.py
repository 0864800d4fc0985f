"""Decode, then parse: the bodies that were answered 500 in the second attack (issue 23).

Charsets that are no text encodings, raw surrogate bytes, UTF-16/32 without a
charset (where lone surrogates and deep nesting slipped past both guards) and
a 5,000-digit number in a FHIR Bundle. Then hypothesis sends bodies across
encodings and declared types and asserts that no answer is a 5xx.
"""

import codecs
import io
import json

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.models import Case, IdempotencyRecord
from registry.services.tokens import token_issue
from tests.api_helpers import client_for
from tests.factories import founding_payload

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
CASES = "/api/v1/cases/"
BATCH = "/api/v1/cases/batch/"
FHIR = "/api/v1/fhir/Bundle"
FHIR_JSON = "application/fhir+json"


@pytest.fixture
def api(submitter_a):
    return client_for(submitter_a)


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == PROBLEM, response["Content-Type"]
    return response.json()


# ---------------------------------------------------------------- charsets


# Codecs Python knows that are no text encodings: Django itself raises LookupError on them
# while it builds the request, so the test client cannot even send them; the WSGI
# application that gunicorn serves is called directly instead.
NOT_TEXT_ENCODINGS = ["base64", "hex", "zlib", "bz2", "uu", "quopri", "rot13", "punycode"]
# Text encodings that are not JSON's, and a name Python does not know.
NOT_JSON_ENCODINGS = ["utf-7", "unicode_escape", "raw_unicode_escape", "idna", "latin-1", "cp500"]


def wsgi_call(method: str, path: str, query: str, content_type: str, body: bytes, token: str):
    from config.wsgi import application

    answer = {}

    def start_response(status, headers):
        answer["status"], answer["headers"] = int(status.split()[0]), dict(headers)

    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "443",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "https",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
    }
    content = b"".join(application(environ, start_response))
    return answer["status"], answer["headers"], content


@pytest.mark.parametrize("charset", NOT_TEXT_ENCODINGS)
@pytest.mark.parametrize("method, path", [("POST", CASES), ("POST", FHIR), ("GET", CASES)])
def test_a_charset_that_is_no_text_encoding_is_a_415_from_the_served_app(
    submitter_a, charset, method, path
):
    _, token = token_issue(user=submitter_a, name="wsgi")
    body = json.dumps(founding_payload(local_id="charset")).encode() if method == "POST" else b""
    status, headers, content = wsgi_call(
        method, path, "q=x", f"application/json; charset={charset}", body, token
    )
    assert status == 415, content[:300]
    assert headers["Content-Type"] == PROBLEM
    assert json.loads(content)["code"] == "unsupported_media_type"
    assert not Case.objects.exists()


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-16", "text/html; charset=latin-1"],
)
def test_the_charset_guard_passes_readable_charsets_to_django(content_type):
    from api.middleware import CharsetGuardApplication

    seen = []
    guard = CharsetGuardApplication(lambda environ, start: seen.append(environ) or [b"ok"])
    path = "/admin/login/" if "latin-1" in content_type else CASES
    assert guard({"PATH_INFO": path, "CONTENT_TYPE": content_type}, None) == [b"ok"]
    assert len(seen) == 1


@pytest.mark.parametrize("charset", [*NOT_JSON_ENCODINGS, "x-klingon"])
@pytest.mark.parametrize("path", [CASES, BATCH, FHIR])
def test_a_charset_that_is_no_text_encoding_of_json_is_a_415(api, charset, path):
    body = json.dumps(founding_payload(local_id="charset")).encode()
    response = api.generic(
        "POST", f"{path}?x=1", body, content_type=f"application/json; charset={charset}"
    )
    assert assert_problem(response, 415)["code"] == "unsupported_media_type"
    assert not Case.objects.exists()


@pytest.mark.parametrize(
    "surrogate", [b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xf0\x9f", b"\xc0\xaf", b"\xff"]
)
def test_raw_surrogate_or_invalid_utf8_bytes_are_a_400(api, surrogate):
    body = b'{"local_id": "a' + surrogate + b'"}'
    assert_problem(api.generic("POST", CASES, body, content_type="application/json"), 400)


# ---------------------------------------------------------------- UTF-16/32 without a charset


@pytest.mark.parametrize("codec", ["utf-16", "utf-32", "utf-8-sig"])
def test_a_bom_names_the_encoding_when_no_charset_does(api, codec):
    payload = founding_payload(local_id=f"bom-{codec}")
    body = json.dumps(payload).encode(codec)  # Python writes the BOM for utf-16/32/-sig
    response = api.generic("POST", CASES, body, content_type="application/json")
    assert response.status_code == 201, response.content[:300]
    assert Case.objects.get().local_id == f"bom-{codec}"


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_utf16_or_32_without_bom_or_charset_is_not_guessed(api, codec):
    body = json.dumps(founding_payload(local_id="guess")).encode(codec)
    assert_problem(api.generic("POST", CASES, body, content_type="application/json"), 400)
    assert not Case.objects.exists()


@pytest.mark.parametrize("codec", ["utf-16", "utf-32", "utf-16-le", "utf-32-be"])
@pytest.mark.parametrize("declared", [True, False])
def test_deep_nesting_is_refused_in_every_encoding(api, codec, declared):
    text = "[" * 100_000 + "]" * 100_000
    body = (codecs.BOM_UTF16_LE if codec == "utf-16-le" and not declared else b"") + text.encode(
        codec
    )
    content_type = f"application/json; charset={codec}" if declared else "application/json"
    if not declared and codec == "utf-32-be":
        body = codecs.BOM_UTF32_BE + body
    response = api.generic("POST", CASES, body, content_type=content_type)
    assert assert_problem(response, 400)["code"] == "too_deep"


@pytest.mark.parametrize("codec", ["utf-16", "utf-32"])
@pytest.mark.parametrize("escape", ["\\ud800", "\\udfff", "\\ud83d x"])
def test_lone_surrogate_escapes_are_refused_in_every_encoding(api, codec, escape):
    payload = founding_payload(local_id="lone")
    text = json.dumps(payload).replace('"lone"', f'"lone{escape}"')
    response = api.generic(
        "POST", CASES, text.encode(codec), content_type="application/json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert_problem(response, 400)
    assert not IdempotencyRecord.objects.exists()


# ---------------------------------------------------------------- number sizes


@pytest.mark.parametrize("digits", [41, 5_000, 100_000])
def test_a_huge_number_is_a_400_in_json(api, digits):
    body = json.dumps(founding_payload(local_id="n")).replace('"age_at_diagnosis": 56', "")
    body = body[:-1] + f', "age_at_diagnosis": {"9" * digits}}}'
    assert_problem(api.generic("POST", CASES, body, content_type="application/json"), 400)


@pytest.mark.parametrize("number", ["9" * 5_000, "1." + "5" * 5_000, "1e" + "9" * 50])
@pytest.mark.parametrize("content_type", [FHIR_JSON, "application/json"])
def test_a_huge_number_in_a_fhir_bundle_is_an_operation_outcome(api, number, content_type):
    body = f'{{"resourceType": "Bundle", "type": "collection", "total": {number}, "entry": []}}'
    response = api.generic("POST", FHIR, body, content_type=content_type)
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"] == FHIR_JSON
    assert "longer than" in response.json()["issue"][0]["diagnostics"]


# ---------------------------------------------------------------- property: never a 5xx

_CODECS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le"]
_CHARSETS = [None, *_CODECS, "utf-7", "latin-1", "ascii", "nonsense", "unicode_escape"]
_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**60), max_value=10**60)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["local_id", "metastases", "site", "age_at_diagnosis", "x", "cases"])
            | st.text(max_size=8),
            children,
            max_size=4,
        )
    ),
    max_leaves=20,
)


def _body(data) -> bytes:
    kind = data.draw(st.sampled_from(["json", "founding", "bytes", "deep", "surrogate"]))
    if kind == "bytes":
        return data.draw(st.binary(max_size=200))
    if kind == "deep":
        return ("[" * data.draw(st.integers(60, 3000))).encode()
    if kind == "surrogate":
        return b'{"local_id": "\\ud8' + data.draw(st.binary(min_size=1, max_size=6)) + b'"}'
    value = founding_payload(local_id="prop") if kind == "founding" else data.draw(_JSON_VALUES)
    text = json.dumps(value, ensure_ascii=data.draw(st.booleans()))
    codec = data.draw(st.sampled_from(_CODECS))
    return text.encode(codec, "surrogatepass")


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_body_in_any_encoding_is_answered_5xx(submitter_a, data):
    client = client_for(submitter_a)
    body = _body(data)
    charset = data.draw(st.sampled_from(_CHARSETS))
    media = data.draw(st.sampled_from(["application/json", "*/*", FHIR_JSON, "application/*"]))
    content_type = media if charset is None else f"{media}; charset={charset}"
    path = data.draw(st.sampled_from([CASES, BATCH, FHIR]))
    response = client.generic("POST", path, body, content_type=content_type)
    assert response.status_code < 500, (response.status_code, response.content[:300])
    if response.status_code >= 400:
        assert response["Content-Type"] in (PROBLEM, FHIR_JSON)
    Case.objects.all().delete()
