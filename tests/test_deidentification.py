"""The identifier screen on free text: what it catches, what clinical text it lets through."""

import pytest
from django.core.exceptions import ValidationError

from registry.deidentification import find_identifier
from registry.models import Case
from registry.services.cases import case_create
from tests.factories import founding_payload

EMAIL = "an e-mail address"
PHONE = "a phone number"
DATE = "a full date"
LONG_NUMBER = "a long number (record or ID number?)"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("contact jane.doe@hospital-a.fr for slides", EMAIL),
        ("J.SMITH+PATH@EXAMPLE.CO.UK", EMAIL),
        ("call +33 1 23 45 67 89", PHONE),
        ("tel. 06 12 34 56 78", PHONE),
        ("(555) 123-4567", PHONE),
        ("555-123-4567", PHONE),
        ("555.123.4567", PHONE),
        ("+44 20 7946 0958", PHONE),
        ("+1-212-555-0199", PHONE),
        ("biopsy on 03/03/2019", DATE),
        ("biopsy on 3/3/19", DATE),
        ("seen 3.3.2019", DATE),
        ("excised 2019-03-03", DATE),
        ("excised 2019/03/03", DATE),
        ("seen on 3 March 2019", DATE),
        ("seen on 3rd Mar. 2019", DATE),
        ("seen on 12 sept 2019", DATE),
        ("seen on March 3, 2019", DATE),
        ("seen on Dec 25th, 2018", DATE),
        ("MRN 12345678", LONG_NUMBER),
        ("record 0012345", LONG_NUMBER),
        ("NHS number 9434765919", LONG_NUMBER),
    ],
)
def test_identifiers_are_caught_and_named(text, kind):
    assert find_identifier(text) == kind


@pytest.mark.parametrize(
    "text",
    [
        "Ki-67 20-30%",
        "Ki-67 20 - 30 %",
        "2.5 cm nodule",
        "pT2 N1 M0",
        "ER 90%, PR 80%, HER2 1+",
        "8500/3",
        "ICD-O-3 8500/6",
        "year 2019",
        "seborrhoeic keratosis",
        "Rapidly growing scalp nodule first taken for a benign lesion",
        "pilar cyst, 12 months after surgery",
        "may be a sebaceous cyst",
        "",
    ],
)
def test_clinical_text_passes_the_screen(text):
    assert find_identifier(text) is None


def test_identifier_in_a_metastasis_is_reported_by_field_path_without_its_value(hospital_a):
    payload = founding_payload()
    payload["metastases"].append({"site": "C41.0", "misdiagnosis_text": "seen 03/03/2019"})
    with pytest.raises(ValidationError) as raised:
        case_create(institution=hospital_a, local_id="d-1", payload=payload, actor=None)
    errors = raised.value.message_dict
    assert list(errors) == ["metastases[1].misdiagnosis_text"]
    assert "full date" in errors["metastases[1].misdiagnosis_text"][0]
    assert "03/03/2019" not in str(raised.value)
    assert not Case.objects.exists()


def test_identifier_in_the_first_metastasis_is_keyed_by_its_index(hospital_a):
    payload = founding_payload()
    payload["metastases"][0]["misdiagnosis_text"] = "ask dr.x@clinic.org"
    with pytest.raises(ValidationError) as raised:
        case_create(institution=hospital_a, local_id="d-1", payload=payload, actor=None)
    assert list(raised.value.message_dict) == ["metastases[0].misdiagnosis_text"]
    assert "dr.x@clinic.org" not in str(raised.value)
