"""Validation edits: the registry's rules for a case, shared by every way in.

The API, batch submission, FHIR import and the admin all build unsaved model
instances and pass them here, so a rule is written once. Each problem is keyed
by the path of the field it concerns, e.g. ``metastases[0].site``.
"""

import datetime
from collections import defaultdict

from django.core.exceptions import ValidationError

from registry.deidentification import find_identifier
from registry.models import (
    Behaviour,
    Case,
    Confirmation,
    Metastasis,
    Source,
    Treatment,
    TreatmentTarget,
)
from registry.models.case import FIRST_YEAR
from registry.subtypes import BREAST_FAMILY, Receptors, derive_breast_subtype
from registry.vocabularies import VocabularySnapshot

# Foreign keys are checked against the vocabulary snapshot, not one query each.
_CODED_FIELDS = {
    Case: ["institution", "primary_site", "primary_morphology", "subtype"],
    Metastasis: ["case", "site", "morphology"],
    Treatment: ["case", "metastasis"],
}
SCREENED_TEXT = {Case: ["rejection_reason"], Metastasis: ["misdiagnosis_text"]}


class CaseErrors:
    """Problems found in one case, by field path."""

    def __init__(self) -> None:
        self.by_path: dict[str, list[str]] = defaultdict(list)

    def add(self, path: str, message: str) -> None:
        self.by_path[path].append(message)

    def raise_if_any(self) -> None:
        if self.by_path:
            raise ValidationError(dict(self.by_path))


def check_case(
    case: Case,
    metastases: list[Metastasis],
    treatments: list[Treatment],
    vocab: VocabularySnapshot,
) -> None:
    """Raise ValidationError naming every field of the case that breaks a rule."""
    errors = CaseErrors()
    _check_fields(case, "", errors)
    _check_primary(case, vocab, errors)
    if not metastases:
        errors.add("metastases", "A case needs at least one metastasis.")
    for index, metastasis in enumerate(metastases):
        _check_fields(metastasis, f"metastases[{index}].", errors)
        _check_metastasis(case, metastasis, f"metastases[{index}].", vocab, errors)
    for index, treatment in enumerate(treatments):
        _check_fields(treatment, f"treatments[{index}].", errors)
        _check_treatment(treatment, metastases, f"treatments[{index}].", errors)
    errors.raise_if_any()


def derive_case_values(case: Case, vocab: VocabularySnapshot) -> None:
    """Fill what the rules derive: Safe Harbor age cap, subtype from receptors.

    Raises ValidationError when a given subtype contradicts the receptors.
    """
    if case.age_at_diagnosis is not None and 90 < case.age_at_diagnosis <= 120:
        case.age_at_diagnosis = 90
    primary = vocab.topography.get(case.primary_site_id)
    if primary is None or primary.subtype_family != BREAST_FAMILY:
        return
    derived = derive_breast_subtype(_receptors(case))
    if derived is None:
        return
    if case.subtype_id is None:
        case.subtype_id = derived
    elif case.subtype_id != derived:
        raise ValidationError(
            {
                "subtype": [
                    f"Subtype '{case.subtype_id}' contradicts the receptors, which give "
                    f"'{derived}'. Send the subtype that matches, or leave it out to derive it."
                ]
            }
        )


# ---------------------------------------------------------------- case-level rules


def _check_primary(case: Case, vocab: VocabularySnapshot, errors: CaseErrors) -> None:
    site = vocab.topography.get(case.primary_site_id)
    if site is None:
        errors.add("primary_site", f"Unknown ICD-O-3 topography code '{case.primary_site_id}'.")
    morphology = vocab.morphology.get(case.primary_morphology_id)
    if morphology is None:
        errors.add(
            "primary_morphology",
            f"Unknown ICD-O-3 morphology code '{case.primary_morphology_id}'.",
        )
    elif morphology.behaviour == Behaviour.METASTATIC:
        errors.add(
            "primary_morphology",
            "Behaviour /6 (metastatic) is valid only on a metastasis; code the primary /3.",
        )
    if case.subtype_id is not None:
        subtype = vocab.subtypes.get(case.subtype_id)
        if subtype is None:
            errors.add("subtype", f"Unknown subtype '{case.subtype_id}'.")
        elif site is not None and subtype.family != site.subtype_family:
            family = site.subtype_family or "none"
            errors.add(
                "subtype",
                f"Subtype '{subtype.code}' belongs to {subtype.family} primaries; "
                f"primary {site.code} takes subtypes of family '{family}'.",
            )
    if case.age_at_diagnosis is not None and not 0 <= case.age_at_diagnosis <= 90:
        errors.add(
            "age_at_diagnosis", "Age at diagnosis must be 0-90 (ages over 89 are sent as 90)."
        )
    this_year = datetime.date.today().year
    if case.year_of_diagnosis is not None and not FIRST_YEAR <= case.year_of_diagnosis <= this_year:
        errors.add("year_of_diagnosis", f"Year of diagnosis must be {FIRST_YEAR}-{this_year}.")
    for name in ("er_percent", "pr_percent", "ki67_percent"):
        value = getattr(case, name)
        if value is not None and not 0 <= value <= 100:
            errors.add(name, "A percentage must be 0-100.")
    if case.source == Source.HOSPITAL and (case.doi or case.pmid):
        errors.add("source", "DOI and PMID belong to literature cases; set source to 'literature'.")
    if case.pmid and not case.pmid.isdigit():
        errors.add("pmid", "A PMID is digits only.")
    if case.doi and not case.doi.startswith("10."):
        errors.add("doi", "A DOI starts with '10.'.")


def _check_metastasis(
    case: Case, metastasis: Metastasis, path: str, vocab: VocabularySnapshot, errors: CaseErrors
) -> None:
    if metastasis.site_id not in vocab.topography:
        errors.add(f"{path}site", f"Unknown ICD-O-3 topography code '{metastasis.site_id}'.")
    elif metastasis.site_id == case.primary_site_id:
        errors.add(f"{path}site", "The metastatic site cannot be the primary site.")
    if metastasis.morphology_id is not None:
        morphology = vocab.morphology.get(metastasis.morphology_id)
        if morphology is None:
            errors.add(
                f"{path}morphology",
                f"Unknown ICD-O-3 morphology code '{metastasis.morphology_id}'.",
            )
        elif morphology.behaviour != Behaviour.METASTATIC:
            errors.add(f"{path}morphology", "A metastasis is coded with behaviour /6.")
    if not isinstance(metastasis.confirmed_by, list) or len(set(metastasis.confirmed_by)) != len(
        metastasis.confirmed_by
    ):
        errors.add(f"{path}confirmed_by", "A list of distinct confirmation methods.")
    else:
        for method in metastasis.confirmed_by:
            if method not in Confirmation.values:
                errors.add(f"{path}confirmed_by", f"Unknown confirmation method '{method}'.")


def _check_treatment(
    treatment: Treatment, metastases: list[Metastasis], path: str, errors: CaseErrors
) -> None:
    aims_at_metastasis = treatment.target == TreatmentTarget.METASTASIS
    if aims_at_metastasis and treatment.metastasis is None:
        errors.add(f"{path}metastasis", "Name the metastasis this treatment targets.")
    if not aims_at_metastasis and treatment.metastasis is not None:
        errors.add(f"{path}metastasis", "Only a treatment with target 'metastasis' names one.")
    if treatment.metastasis is not None and treatment.metastasis not in metastases:
        errors.add(f"{path}metastasis", "The metastasis must be one of this case's.")


# ---------------------------------------------------------------- field-level rules


def _check_fields(instance, prefix: str, errors: CaseErrors) -> None:
    """Choices, lengths and blanks from the model, then the identifier screen."""
    try:
        instance.clean_fields(exclude=_CODED_FIELDS[type(instance)])
    except ValidationError as invalid:
        for name, messages in invalid.message_dict.items():
            for message in messages:
                errors.add(f"{prefix}{name}", message)
    for name in SCREENED_TEXT.get(type(instance), []):
        kind = find_identifier(getattr(instance, name) or "")
        if kind:
            errors.add(
                f"{prefix}{name}",
                f"This text seems to contain {kind}; cases must be de-identified.",
            )


def _receptors(case: Case) -> Receptors:
    return Receptors(
        er_percent=case.er_percent,
        pr_percent=case.pr_percent,
        her2_ihc=case.her2_ihc,
        her2_ish=case.her2_ish,
        ki67_percent=case.ki67_percent,
    )
