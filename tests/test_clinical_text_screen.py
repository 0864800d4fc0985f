"""The identifier screen judged on clinical text (issue 24): precision and recall.

The corpus (tests/data/clinical_text_corpus.json) holds what registrars really
write: "C50.2 8490/3", "CA 19-9 1200 U/mL", "OCT 3/4", NCT numbers, DOIs and PMIDs
must pass; names, dates, phone numbers, addresses, record numbers and e-mail
addresses must be caught. Both figures are printed in the test output.
"""

import json
from pathlib import Path

import pytest

from registry.deidentification import IdentifierKind, find_identifiers

CORPUS = json.loads(
    (Path(__file__).parent / "data" / "clinical_text_corpus.json").read_text(encoding="utf-8")
)


@pytest.fixture
def report(capsys):
    """Prints a line to the terminal whatever pytest's capture and verbosity."""

    def write(line: str) -> None:
        with capsys.disabled():
            print(line)

    return write


def test_the_corpus_is_large_enough_to_judge_the_screen():
    assert len(CORPUS["must_pass"]) >= 200
    assert len(CORPUS["must_catch"]) >= 100
    assert len(set(CORPUS["must_pass"])) == len(CORPUS["must_pass"])
    assert {item["kind"] for item in CORPUS["must_catch"]} >= {
        "NAME",
        "DATE",
        "PHONE",
        "ADDRESS",
        "RECORD_NUMBER",
        "EMAIL",
    }
    assert {item["kind"] for item in CORPUS["must_catch"]} <= {kind.name for kind in IdentifierKind}


def test_the_screen_has_full_precision_and_recall_on_clinical_text(report):
    false_alarms = {
        text: [kind.name for kind in kinds]
        for text in CORPUS["must_pass"]
        if (kinds := find_identifiers(text))
    }
    missed = {
        item["text"]: item["kind"]
        for item in CORPUS["must_catch"]
        if item["kind"] not in {kind.name for kind in find_identifiers(item["text"])}
    }
    caught = len(CORPUS["must_catch"]) - len(missed)
    precision = caught / (caught + len(false_alarms)) if caught + len(false_alarms) else 0.0
    recall = caught / len(CORPUS["must_catch"])
    report(
        f"\nidentifier screen on {len(CORPUS['must_pass'])} clinical and "
        f"{len(CORPUS['must_catch'])} identifying texts: precision {precision:.1%}, "
        f"recall {recall:.1%} ({len(false_alarms)} false alarms, {len(missed)} missed)"
    )
    assert false_alarms == {}
    assert missed == {}


@pytest.mark.parametrize(
    ("clinical", "identifier", "kind"),
    [
        ("C50.2 8490/3", "call 555-867-5309", IdentifierKind.PHONE),
        ("CA 19-9 1200 U/mL", "seen 12.03.2019", IdentifierKind.DATE),
        ("OCT 3/4 positive", "biopsy 3 Oct 2019", IdentifierKind.DATE),
        ("PMID 31234567", "MRN 00123456", IdentifierKind.RECORD_NUMBER),
        ("AFP 124500", "tel 555-201-3344", IdentifierKind.PHONE),
        ("NCT01234567", "ref 4455 6677 8899", IdentifierKind.LONG_NUMBER),
    ],
)
def test_clinical_text_never_hides_an_identifier_written_beside_it(clinical, identifier, kind):
    assert find_identifiers(clinical) == []
    assert kind in find_identifiers(f"{clinical}, {identifier}")
    assert kind in find_identifiers(f"{identifier}; {clinical}")


def test_a_marker_value_never_swallows_the_phone_number_after_it():
    """Only a value with a unit may be written in spaced thousands."""
    assert IdentifierKind.PHONE in find_identifiers("CEA 5 555 123 4567")
    assert find_identifiers("hCG 250 000 IU/L") == []
