"""Validation edits: the registry's rules for a case, shared by every way in.

The API, batch submission, FHIR import and the admin all build unsaved model
instances and pass them here, so a rule is written once. Each problem is keyed
by the path of the field it concerns, e.g. ``metastases[0].site``.
"""

import datetime
import functools
from collections import defaultdict

from django.core.exceptions import ValidationError
from django.db.models.expressions import DatabaseDefault

from registry.deidentification import find_identifiers, identifier_message
from registry.models import (
    Behaviour,
    Case,
    Confirmation,
    Metastasis,
    Source,
    StageSystem,
    Treatment,
    TreatmentTarget,
)
from registry.models.case import (
    FIRST_YEAR,
    MAX_AGE,
    MAX_METASTASES_PER_CASE,
    MAX_REPORTED_AGE,
    MAX_TREATMENTS_PER_CASE,
)
from registry.paired_organs import PAIRED_SITES, is_contralateral
from registry.soft_edits import is_skin
from registry.staging import is_gynaecological
from registry.subtypes import (
    BREAST_FAMILY,
    HR_POSITIVE_PERCENT,
    Receptors,
    derive_breast_subtype,
    describe_receptors,
    her2_by_test,
    hormone_positive,
    possible_breast_subtypes,
    ruled_out_by,
)
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
    # Hard caps on work, for every way in (API, batch, FHIR, admin): no row is checked past them.
    too_many = False
    if len(metastases) > MAX_METASTASES_PER_CASE:
        errors.add("metastases", f"A case holds at most {MAX_METASTASES_PER_CASE} metastases.")
        too_many = True
    if len(treatments) > MAX_TREATMENTS_PER_CASE:
        errors.add("treatments", f"A case holds at most {MAX_TREATMENTS_PER_CASE} treatments.")
        too_many = True
    if too_many:
        errors.raise_if_any()
    for index, metastasis in enumerate(metastases):
        _check_fields(metastasis, f"metastases[{index}].", errors)
        _check_metastasis(case, metastasis, f"metastases[{index}].", vocab, errors)
    for index, treatment in enumerate(treatments):
        _check_fields(treatment, f"treatments[{index}].", errors)
        _check_treatment(treatment, metastases, f"treatments[{index}].", errors)
    errors.raise_if_any()


def derive_case_values(case: Case, vocab: VocabularySnapshot) -> None:
    """Fill what the rules derive: Safe Harbor age cap, subtype from receptors.

    A given subtype that contradicts the receptors is left for `check_case` to
    report with the case's other problems.
    """
    age = _number(case, "age_at_diagnosis")
    if age is not None and MAX_AGE < age <= MAX_REPORTED_AGE:
        case.age_at_diagnosis = MAX_AGE
    if case.subtype_id is None:
        case.subtype_id = _derived_subtype(case, vocab)


def _derived_subtype(case: Case, vocab: VocabularySnapshot) -> str | None:
    """The subtype the receptors settle on this primary, or None."""
    primary = _lookup(vocab.topography, case.primary_site_id)
    if primary is None or primary.subtype_family != BREAST_FAMILY:
        return None
    return derive_breast_subtype(_receptors(case))


# ---------------------------------------------------------------- case-level rules


def _check_primary(case: Case, vocab: VocabularySnapshot, errors: CaseErrors) -> None:
    site = _lookup(vocab.topography, case.primary_site_id)
    if case.primary_site_id is None:
        errors.add("primary_site", "This field is required.")
    elif site is None:
        errors.add("primary_site", f"Unknown ICD-O-3 topography code '{case.primary_site_id}'.")
    morphology = _lookup(vocab.morphology, case.primary_morphology_id)
    if case.primary_morphology_id is None:
        errors.add("primary_morphology", "This field is required.")
    elif morphology is None:
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
        subtype = _lookup(vocab.subtypes, case.subtype_id)
        derived = _derived_subtype(case, vocab)
        if subtype is None:
            errors.add("subtype", f"Unknown subtype '{case.subtype_id}'.")
        elif site is not None and subtype.family != site.subtype_family:
            family = site.subtype_family or "none"
            errors.add(
                "subtype",
                f"Subtype '{subtype.code}' belongs to {subtype.family} primaries; "
                f"primary {site.code} takes subtypes of family '{family}'.",
            )
        elif site is not None and site.subtype_family == BREAST_FAMILY:
            _check_breast_subtype(case, subtype.code, derived, errors)
    age = _number(case, "age_at_diagnosis")
    if age is not None and not 0 <= age <= MAX_AGE:
        errors.add(
            "age_at_diagnosis",
            f"Age at diagnosis must be 0-{MAX_AGE} "
            f"(ages over {MAX_AGE - 1} are sent as {MAX_AGE}).",
        )
    this_year = datetime.date.today().year
    year = _number(case, "year_of_diagnosis")
    if year is not None and not FIRST_YEAR <= year <= this_year:
        errors.add("year_of_diagnosis", f"Year of diagnosis must be {FIRST_YEAR}-{this_year}.")
    for name in ("er_percent", "pr_percent", "ki67_percent"):
        value = _number(case, name)
        if value is not None and not 0 <= value <= 100:
            errors.add(name, "A percentage must be 0-100.")
    _check_receptor_statuses(case, errors)
    if (
        case.stage_system == StageSystem.FIGO
        and site is not None
        and not is_gynaecological(site.code)
    ):
        errors.add(
            "stage_system",
            f"FIGO stages gynaecological primaries (C51-C58); primary {site.code} is staged "
            "with AJCC (stage_system 'ajcc8').",
        )
    if case.source == Source.HOSPITAL and (case.doi or case.pmid):
        errors.add("source", "DOI and PMID belong to literature cases; set source to 'literature'.")
    if case.pmid and not case.pmid.isdigit():
        errors.add("pmid", "A PMID is digits only.")
    if case.doi and not case.doi.startswith("10."):
        errors.add("doi", "A DOI starts with '10.'.")


def _check_receptor_statuses(case: Case, errors: CaseErrors) -> None:
    """A status in words may stand beside a percentage or score, but never contradict it."""
    for receptor in ("er", "pr"):
        percent, status = _percent(case, f"{receptor}_percent"), getattr(case, f"{receptor}_status")
        if percent is None or not status:
            continue
        reading = "positive" if hormone_positive(percent, "") else "negative"
        if status != reading:
            errors.add(
                f"{receptor}_status",
                f"{receptor.upper()} {percent} % is {reading} (≥ {HR_POSITIVE_PERCENT} % stains); "
                f"{receptor}_status says '{status}'. Send one, or both in agreement.",
            )
    by_test = her2_by_test(_receptors(case))
    if by_test is not None and case.her2_status:
        reading = "positive" if by_test else "negative"
        if case.her2_status != reading:
            errors.add(
                "her2_status",
                f"HER2 IHC/ISH give {reading}; her2_status says '{case.her2_status}'. "
                "Send one, or both in agreement.",
            )


def _check_breast_subtype(
    case: Case, subtype: str, derived: str | None, errors: CaseErrors
) -> None:
    """A given subtype may not contradict what the known receptors rule out, even partly known."""
    receptors = _receptors(case)
    failed = ruled_out_by(receptors, subtype)
    if not failed:
        return
    if derived is not None:
        settles = f"they give '{derived}'"
    else:
        allowed = possible_breast_subtypes(receptors)
        settles = (
            "they allow " + ", ".join(f"'{code}'" for code in allowed)
            if allowed
            else "they fit no St Gallen 2013 surrogate"
        )
    errors.add(
        "subtype",
        f"Subtype '{subtype}' contradicts the receptors: it requires {' and '.join(failed)}, "
        f"which {describe_receptors(receptors)} rules out; {settles}. "
        "Send the subtype that matches, or leave it out to derive it.",
    )


def _check_metastasis(
    case: Case, metastasis: Metastasis, path: str, vocab: VocabularySnapshot, errors: CaseErrors
) -> None:
    if metastasis.site_id is None:
        errors.add(f"{path}site", "This field is required.")
    elif _lookup(vocab.topography, metastasis.site_id) is None:
        errors.add(f"{path}site", f"Unknown ICD-O-3 topography code '{metastasis.site_id}'.")
    elif metastasis.site_id == case.primary_site_id:
        _check_same_site(case, metastasis, path, errors)
    size = _number(metastasis, "size_mm")
    if size is not None and size < 1:
        # The database holds sizes above 0 only; say so here rather than fail on save.
        errors.add(f"{path}size_mm", "A size in mm is greater than 0.")
    if metastasis.morphology_id is not None:
        morphology = _lookup(vocab.morphology, metastasis.morphology_id)
        if morphology is None:
            errors.add(
                f"{path}morphology",
                f"Unknown ICD-O-3 morphology code '{metastasis.morphology_id}'.",
            )
        elif morphology.behaviour != Behaviour.METASTATIC:
            errors.add(f"{path}morphology", "A metastasis is coded with behaviour /6.")
    methods = metastasis.confirmed_by
    if (
        not isinstance(methods, list)
        or not all(isinstance(method, str) for method in methods)
        or len(set(methods)) != len(methods)
    ):
        errors.add(f"{path}confirmed_by", "A list of distinct confirmation methods.")
    else:
        for method in methods:
            if method not in Confirmation.values:
                errors.add(f"{path}confirmed_by", f"Unknown confirmation method '{method}'.")


def _check_same_site(case: Case, metastasis: Metastasis, path: str, errors: CaseErrors) -> None:
    """A metastasis at the primary's own code: in the contralateral paired organ, or on skin.

    Skin codes are broad (C44.5 is the whole trunk): a melanoma of the back with a
    metastasis on the abdomen is coded C44.5 twice. Such a metastasis is legal; when
    its side does not tell it apart from the primary, a soft edit (`skin_same_site`)
    asks a curator to confirm it.
    """
    site = metastasis.site_id
    primary_side, metastasis_side = case.primary_laterality, metastasis.laterality
    if is_contralateral(site, primary_side, metastasis_side) or is_skin(site):
        return
    if site not in PAIRED_SITES:
        errors.add(
            f"{path}site",
            f"The metastatic site {site} is the primary's own site code, and {site} is not a "
            "paired organ, so a metastasis cannot be there: code the site of the metastasis "
            "(or correct the primary site).",
        )
        return
    errors.add(
        f"{path}site",
        f"The metastatic site {site} is the primary's own site code. In a paired organ that "
        "is valid only for a metastasis in the other organ of the pair: give "
        "primary_laterality and this metastasis's laterality, one 'left' and one 'right' "
        f"(given: primary '{primary_side}', metastasis '{metastasis_side}').",
    )


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
    refused = set()
    for name, messages in _clean_fields(instance, _CODED_FIELDS[type(instance)]):
        refused.add(name)
        for message in messages:
            errors.add(f"{prefix}{name}", message)
    for name in SCREENED_TEXT.get(type(instance), []):
        if name in refused:
            continue  # too long or not text: the screen never reads what the field refused
        for kind in find_identifiers(getattr(instance, name) or ""):
            errors.add(f"{prefix}{name}", identifier_message([kind]))


def _clean_fields(instance, exclude: list[str]) -> list[tuple[str, list[str]]]:
    """`Model.clean_fields(exclude)`: the same fields, values and messages, as a list.

    A batch repeats the same few values (choices, small numbers) thousands of
    times, so the outcome of cleaning a simple value is remembered per field; the
    fields checked here (no foreign keys) do not look at the instance.
    """
    problems = []
    for field in instance._meta.fields:
        if field.name in exclude or field.generated:
            continue
        raw_value = getattr(instance, field.attname)
        if field.blank and raw_value in field.empty_values:
            continue
        if isinstance(raw_value, DatabaseDefault):
            continue
        if type(raw_value) in _REMEMBERED_TYPES:
            valid, result = _cleaned_value(field, type(raw_value), raw_value)
        else:
            valid, result = _clean_value(field, raw_value, instance)
        if valid:
            setattr(instance, field.attname, result)
        else:
            problems.append((field.name, result))
    return problems


_REMEMBERED_TYPES = frozenset({str, int, float, bool, type(None)})


def _clean_value(field, raw_value, instance=None) -> tuple[bool, object]:
    """(True, the cleaned value) or (False, the messages), as `Field.clean` decides."""
    try:
        return True, field.clean(raw_value, instance)
    except ValidationError as invalid:
        return False, invalid.messages


@functools.lru_cache(maxsize=8192)
def _cleaned_value(field, value_type: type, raw_value) -> tuple[bool, object]:
    # The type is part of the key: True == 1, but they need not clean alike.
    outcome = _clean_value(field, raw_value)
    return outcome[0], (tuple(outcome[1]) if not outcome[0] else outcome[1])


def _receptors(case: Case) -> Receptors:
    return Receptors(
        er_percent=_percent(case, "er_percent"),
        pr_percent=_percent(case, "pr_percent"),
        her2_ihc=case.her2_ihc,
        her2_ish=case.her2_ish,
        ki67_percent=_percent(case, "ki67_percent"),
        er_status=case.er_status or "",
        pr_status=case.pr_status or "",
        her2_status=case.her2_status or "",
    )


def _percent(case: Case, name: str) -> int | None:
    # An impossible percentage is reported by the edits; it settles no subtype.
    value = _number(case, name)
    return value if value is not None and 0 <= value <= 100 else None


def _number(instance, name: str) -> int | None:
    """A whole-number field as an int; None if absent or not a number (the field check says so)."""
    try:
        return type(instance)._meta.get_field(name).to_python(getattr(instance, name))
    except ValidationError:
        return None


def _lookup(table: dict, code):
    """The vocabulary row for `code`; None for unknown codes and for values that are no code."""
    return table.get(code) if isinstance(code, str) else None
