"""A case's key: refused when it identifies or hides characters, one key however it is spelled."""

import importlib
import unicodedata
from io import StringIO
from urllib.parse import quote

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from hypothesis import given
from hypothesis import strategies as st

from registry.case_keys import clean_local_id, local_id_key, normalise_local_id
from registry.models import Case
from registry.services.batch import BatchItem, case_batch_submit
from registry.services.cases import case_create, case_upsert
from tests.api_helpers import client_for
from tests.factories import founding_payload

CASES = "/api/v1/cases/"
MIGRATION = importlib.import_module("registry.migrations.0006_local_id_key")


def by_local_id(local_id: str) -> str:
    return f"{CASES}by-local-id/{quote(local_id, safe='')}/"


# ---------------------------------------------------------------- the rules


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("ABC\u200b-1", "invisible formatting or bidi character (U+200B)"),
        ("\u202eABC-1", "invisible formatting or bidi character (U+202E)"),
        ("ABC\u200e-1", "invisible formatting or bidi character (U+200E)"),
        ("ABC\t1", "control character (U+0009)"),
        ("ABC\x1b1", "control character (U+001B)"),
        ("ABC\u2028-1", "line separator"),
        ("ABC\ue000", "private-use character"),
        ("a/b", "cannot contain '/'"),
        ("jane.doe@hospital.fr", "an e-mail address"),
        ("x＠localhost", "an e-mail address"),
        ("MRN 12345678", "a record, social security or other ID number"),
        ("2019-03-05", "a date finer than a year"),
        ("+33 6 12 34 56 78", "a phone number"),
        ("Mrs Doe 1", "a name with a title"),
        ("   ", "cannot be blank"),
        ("x" * 65, "at most 64 characters"),
    ],
)
def test_keys_that_identify_or_hide_characters_are_refused(raw, reason):
    with pytest.raises(ValidationError) as raised:
        clean_local_id(raw)
    assert any(reason in message for message in raised.value.message_dict["local_id"])


@pytest.mark.parametrize(
    "raw",
    [
        *["ABC-1", "a-0001", "x'--", "a<b>", "1 OR 1=1", "bcn_2021_07", "Сase-1", "é"],
        *["2021-000123", "synth-000000123", "12345678"],  # sequence numbers are keys
    ],
)
def test_ordinary_keys_are_accepted(raw):
    assert clean_local_id(raw) == unicodedata.normalize("NFC", raw)


def test_surrounding_whitespace_is_stripped_and_inner_runs_become_one_space():
    assert clean_local_id("  ABC \u00a0  1 ") == "ABC 1"


def test_a_decomposed_key_is_stored_composed():
    assert clean_local_id("cafe\u0301-1") == "café-1"


@pytest.mark.parametrize(
    "spelling",
    [
        "abc-1",
        "ABC-1",
        "Abc-1",
        "ＡＢＣ－１",  # fullwidth
        "ABC\u20101",  # U+2010 HYPHEN
        "ABC\u20131",  # EN DASH
        "АВС-1",  # Cyrillic А, В, С
        "AΒC-1",  # Greek Beta
        " ABC-1 ",
    ],
)
def test_keys_that_look_the_same_compare_equal(spelling):
    assert local_id_key(normalise_local_id(spelling)) == local_id_key("abc-1")


def test_keys_that_look_different_stay_different():
    keys = {local_id_key(k) for k in ["abc-1", "abc-2", "abc 1", "abc1", "abd-1", "ab-c1"]}
    assert len(keys) == 6


@given(st.text(max_size=40))
def test_the_comparison_form_is_its_own_comparison_form(text):
    key = local_id_key(text)
    assert local_id_key(key) == key


@given(st.text(max_size=40))
def test_composed_and_decomposed_spellings_are_one_key(text):
    nfc, nfd = unicodedata.normalize("NFC", text), unicodedata.normalize("NFD", text)
    assert local_id_key(nfc) == local_id_key(nfd)


@given(st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=30))
def test_fullwidth_and_other_case_spellings_of_an_ascii_key_are_one_key(text):
    fullwidth = "".join(chr(ord(char) + 0xFEE0) for char in text)
    assert local_id_key(fullwidth) == local_id_key(text) == local_id_key(text.swapcase())


# ---------------------------------------------------------------- services and API


def test_a_second_spelling_of_a_key_replaces_the_case_rather_than_adding_one(hospital_a):
    first = case_upsert(
        institution=hospital_a, local_id="ABC-1", payload=founding_payload(), actor=None
    )
    again = case_upsert(
        institution=hospital_a,
        local_id="ａｂｃ\u20101",
        payload=founding_payload(age_at_diagnosis=57),
        actor=None,
    )
    assert again.case.pk == first.case.pk
    assert Case.objects.get().local_id == "ABC-1"  # the first spelling stays
    assert Case.objects.get().age_at_diagnosis == 57


def test_creating_a_case_under_another_spelling_of_a_taken_key_is_refused(hospital_a):
    case_create(institution=hospital_a, local_id="ABC-1", payload=founding_payload(), actor=None)
    with pytest.raises(ValidationError) as raised:
        case_create(
            institution=hospital_a, local_id="abc-1", payload=founding_payload(), actor=None
        )
    assert "already has a case" in raised.value.message_dict["local_id"][0]


def test_put_by_local_id_finds_the_case_under_any_spelling(submitter_a):
    api = client_for(submitter_a)
    created = api.put(by_local_id("ABC-1"), founding_payload(), format="json")
    assert created.status_code == 201
    replaced = api.put(by_local_id("abc-1"), founding_payload(age_at_diagnosis=57), format="json")
    assert replaced.status_code == 200
    assert replaced.json()["uuid"] == created.json()["uuid"]
    read = api.get(by_local_id("ＡＢＣ-１"))
    assert read.status_code == 200
    assert read.json()["age_at_diagnosis"] == 57
    assert Case.objects.count() == 1


@pytest.mark.parametrize(
    "local_id", ["a/b", "ABC\u200b1", "\u202eABC", "jane@x.org", "MRN 12345678", "2019-03-05"]
)
def test_the_api_refuses_identifying_or_invisible_keys_with_a_field_error(submitter_a, local_id):
    api = client_for(submitter_a)
    response = api.post(CASES, founding_payload(local_id=local_id), format="json")
    assert response.status_code in (400, 422), response.content[:300]
    assert response["Content-Type"] == "application/problem+json"
    assert [error["field"] for error in response.json()["errors"]] == ["local_id"]
    assert not Case.objects.exists()


def test_a_batch_treats_two_spellings_of_one_key_as_a_repeat(hospital_a):
    results = case_batch_submit(
        institution=hospital_a,
        items=[
            BatchItem("ABC-1", founding_payload()),
            BatchItem("abc-1", founding_payload()),
            BatchItem("a/b", founding_payload()),
        ],
        actor=None,
    )
    assert [result.result for result in results] == ["created", "error", "error"]
    assert results[1].errors[0].code == "repeated_in_batch"
    assert results[2].errors[0].field == "local_id"
    assert Case.objects.count() == 1


# ---------------------------------------------------------------- existing registries


def _legacy_clash(hospital_a) -> tuple[Case, Case]:
    """Two cases stored before keys were compared: "ABC-1" and "abc-1"."""
    first = case_create(
        institution=hospital_a, local_id="ABC-1", payload=founding_payload(), actor=None
    )
    second = case_create(
        institution=hospital_a, local_id="legacy", payload=founding_payload(), actor=None
    )
    # As an older registry held it: the spelling, and no comparison form yet.
    Case.objects.filter(pk=second.pk).update(local_id="abc-1", local_id_key="legacy")
    return first, second


def test_the_migration_reports_clashing_keys_and_merges_nothing(hospital_a):
    first, second = _legacy_clash(hospital_a)
    with pytest.raises(RuntimeError) as raised:
        MIGRATION.fill_keys(apps, None)
    report = str(raised.value)
    assert f"case id {first.pk} 'ABC-1'" in report
    assert f"case id {second.pk} 'abc-1'" in report
    assert Case.objects.count() == 2
    assert Case.objects.get(pk=second.pk).local_id_key == "legacy"  # nothing written


def test_the_migration_gives_every_case_and_history_row_its_key(hospital_a):
    case = case_create(
        institution=hospital_a, local_id="ABC-1", payload=founding_payload(), actor=None
    )
    Case.objects.filter(pk=case.pk).update(local_id_key="")
    Case.history.filter(id=case.pk).update(local_id_key="")
    MIGRATION.fill_keys(apps, None)
    assert Case.objects.get(pk=case.pk).local_id_key == "abc-1"
    assert set(Case.history.filter(id=case.pk).values_list("local_id_key", flat=True)) == {"abc-1"}


def test_check_local_ids_lists_clashes_and_refused_keys(hospital_a):
    first, second = _legacy_clash(hospital_a)
    bad = case_create(
        institution=hospital_a, local_id="fine", payload=founding_payload(), actor=None
    )
    Case.objects.filter(pk=bad.pk).update(local_id="jane@x.org", local_id_key="jane@x.org")
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("check_local_ids", stdout=out)
    listed = out.getvalue()
    assert f"clash hosp-a: case id {first.pk} 'ABC-1', case id {second.pk} 'abc-1'" in listed
    assert f"refused hosp-a: case id {bad.pk} 'jane@x.org'" in listed
    assert "an e-mail address" in listed


def test_check_local_ids_is_quiet_about_a_clean_registry(hospital_a):
    case_create(institution=hospital_a, local_id="ABC-1", payload=founding_payload(), actor=None)
    out = StringIO()
    call_command("check_local_ids", stdout=out)
    assert "0 clashing group(s), 0 key(s) the rules refuse, 1 case(s) checked." in out.getvalue()
