"""The identifier screen on free text: what it catches, what clinical text it lets through.

The examples live in tests/data/identifier_screen_corpus.json, so a curator who
meets a new slip (or a new false alarm) adds a line there.
"""

import json
import time
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.deidentification import (
    MAX_SCREENED_CHARS,
    IdentifierKind,
    find_identifier,
    find_identifiers,
)
from registry.models import Case
from registry.services.cases import case_create
from tests.factories import founding_payload

CORPUS = json.loads(
    (Path(__file__).parent / "data" / "identifier_screen_corpus.json").read_text(encoding="utf-8")
)


@pytest.mark.parametrize(
    "example", CORPUS["identifying"], ids=[item["text"] for item in CORPUS["identifying"]]
)
def test_every_kind_of_identifier_in_a_text_is_named(example):
    assert {kind.name for kind in find_identifiers(example["text"])} == set(example["kinds"])


@pytest.mark.parametrize("text", CORPUS["clinical"])
def test_clinical_text_passes_the_screen(text):
    assert find_identifiers(text) == []


def test_an_ssn_is_a_record_number_not_a_date():
    assert find_identifiers("SSN 123-45-6789") == [IdentifierKind.RECORD_NUMBER]


def test_fullwidth_forms_are_read_as_plain_letters():
    assert find_identifier("ｊａｎｅ＠ｈｏｓｐｉｔａｌ．ｆｒ") is IdentifierKind.EMAIL


def test_text_longer_than_the_screen_reads_is_refused_unread():
    assert find_identifiers("a" * (MAX_SCREENED_CHARS + 1)) == [IdentifierKind.TOO_LONG]


# Inputs that made the old patterns backtrack: a long local part with no "@",
# long runs of spaced digits, many almost-addresses.
ADVERSARIAL = {"no-at-sign": "a.", "spaced-digits": "1 ", "almost-an-address": "12 Main "}


@pytest.mark.parametrize("unit", ADVERSARIAL.values(), ids=ADVERSARIAL.keys())
def test_the_screen_takes_linear_time(unit):
    """Ten times the text costs about ten times the time (quadratic would be ~100)."""

    def seconds(length: int) -> float:
        text = (unit * (length // len(unit) + 1))[:length]
        started = time.perf_counter()
        find_identifiers(text, limit=None)
        return time.perf_counter() - started

    small, large = seconds(100_000), seconds(1_000_000)
    assert large / small < 30, f"100 KB: {small:.3f}s, 1 MB: {large:.3f}s"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_the_screen_reads_any_text_without_failing(text):
    kinds = find_identifiers(text)
    assert kinds == sorted(set(kinds), key=list(IdentifierKind).index)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab .-@/:1 "), max_size=200))
def test_identifiers_found_in_a_text_are_found_again_with_text_around_it(text):
    """Padding with clinical words never hides a finding."""
    assert set(find_identifiers(text)) <= set(find_identifiers(f"nodule; {text} ; ER 95 %"))


# ---------------------------------------------------------------- through the validation edits


def test_identifier_in_a_metastasis_is_reported_by_field_path_without_its_value(hospital_a):
    payload = founding_payload()
    payload["metastases"].append({"site": "C41.0", "misdiagnosis_text": "seen 03/03/2019"})
    with pytest.raises(ValidationError) as raised:
        case_create(institution=hospital_a, local_id="d-1", payload=payload, actor=None)
    errors = raised.value.message_dict
    assert list(errors) == ["metastases[1].misdiagnosis_text"]
    assert "a date finer than a year" in errors["metastases[1].misdiagnosis_text"][0]
    assert "03/03/2019" not in str(raised.value)
    assert not Case.objects.exists()


def test_every_kind_in_a_field_is_reported_on_that_field(hospital_a):
    payload = founding_payload()
    payload["metastases"][0]["misdiagnosis_text"] = "Mrs Jane Doe, 12 Baker Street, x@localhost"
    with pytest.raises(ValidationError) as raised:
        case_create(institution=hospital_a, local_id="d-1", payload=payload, actor=None)
    messages = raised.value.message_dict["metastases[0].misdiagnosis_text"]
    assert len(messages) == 3
    assert any(str(IdentifierKind.NAME) in message for message in messages)
    assert any(str(IdentifierKind.ADDRESS) in message for message in messages)
    assert any(str(IdentifierKind.EMAIL) in message for message in messages)
    assert "Jane" not in str(raised.value)


def test_identifier_in_the_first_metastasis_is_keyed_by_its_index(hospital_a):
    payload = founding_payload()
    payload["metastases"][0]["misdiagnosis_text"] = "ask dr.x@clinic.org"
    with pytest.raises(ValidationError) as raised:
        case_create(institution=hospital_a, local_id="d-1", payload=payload, actor=None)
    assert list(raised.value.message_dict) == ["metastases[0].misdiagnosis_text"]
    assert "dr.x@clinic.org" not in str(raised.value)


def test_a_text_too_long_for_its_field_is_refused_for_length_and_not_screened(hospital_a):
    payload = founding_payload()
    payload["metastases"][0]["misdiagnosis_text"] = "x@localhost " * 1_000
    with pytest.raises(ValidationError) as raised:
        case_create(institution=hospital_a, local_id="d-1", payload=payload, actor=None)
    messages = raised.value.message_dict["metastases[0].misdiagnosis_text"]
    assert len(messages) == 1
    assert "at most 200 characters" in messages[0]
