"""A case as plain data (codes as strings) and back: the shape every way in shares.

The API's JSON, a batch item, a FHIR mapping, the admin form, the synthetic
generator and the change check all speak this dictionary form; `build_case` turns
it into unsaved model instances for the validation edits, and `case_payload` reads
a stored case back into it. It is a data shape, not a service: anything in the
domain may import it.

The TypedDicts say what a well-formed payload holds. Every key may be absent (a
whole case takes defaults for them; a patch names only what changes), and values
come from outside as sent: the validation edits, not these types, judge them.
"""

from typing import TypedDict

from registry.models import Case, Metastasis, Treatment


class MetastasisPayload(TypedDict, total=False):
    site: str  # ICD-O-3 topography code, e.g. "C44.4"
    laterality: str
    months_from_primary: int | None
    presentation: str
    size_mm: int | None
    misdiagnosis: str
    misdiagnosis_text: str
    confirmed_by: list[str]
    morphology: str | None  # ICD-O-3 morphology with behaviour /6, e.g. "8500/6"


class TreatmentPayload(TypedDict, total=False):
    modality: str
    target: str  # "primary" or "metastasis"
    metastasis: int | None  # index of the targeted metastasis in `metastases`
    intent: str
    months_from_primary: int | None
    response: str


class CasePayload(TypedDict, total=False):
    source: str
    doi: str
    pmid: str
    sex: str
    age_at_diagnosis: int | None
    menopausal_status: str
    year_of_diagnosis: int | None
    diagnostic_sequence: str  # primary_first | metastasis_first | simultaneous | unknown
    primary_site: str
    primary_morphology: str
    primary_laterality: str
    grade: str
    stage_group: str
    stage_system: str  # ajcc8 | figo
    er_percent: int | None
    pr_percent: int | None
    her2_ihc: str
    her2_ish: str
    ki67_percent: int | None
    er_status: str  # positive | negative | equivocal, when no percentage is known
    pr_status: str
    her2_status: str
    subtype: str | None
    vital_status: str
    follow_up_months: int | None
    metastases: list[MetastasisPayload]
    treatments: list[TreatmentPayload]


# The stored fields in payload order, read off the TypedDicts so there is one list.
CASE_FIELDS = [
    name for name in CasePayload.__annotations__ if name not in ("metastases", "treatments")
]
METASTASIS_FIELDS = list(MetastasisPayload.__annotations__)
TREATMENT_FIELDS = list(TreatmentPayload.__annotations__)


def _attname(model, name: str) -> str:
    """Coded relations are set through their column (`site_id`) to skip lookups."""
    return model._meta.get_field(name).attname


def _default(model, name: str):
    field = model._meta.get_field(name)
    if field.is_relation:
        return None
    return field.get_default()


def _assign(instance, fields: list[str], payload) -> None:
    model = type(instance)
    for name in fields:
        value = payload.get(name, _default(model, name))
        if value is None and not model._meta.get_field(name).null:
            value = _default(model, name) if not model._meta.get_field(name).is_relation else None
        setattr(instance, _attname(model, name), value)


def build_case(payload: CasePayload, case: Case) -> tuple[Case, list[Metastasis], list[Treatment]]:
    """Apply the payload to `case` (new or stored) and build its unsaved children.

    Fields absent from the payload take their defaults: a payload is a whole case.
    """
    _assign(case, CASE_FIELDS, payload)
    metastases = []
    for item in payload.get("metastases") or []:
        metastasis = Metastasis(case=case)
        _assign(metastasis, [f for f in METASTASIS_FIELDS if f != "confirmed_by"], item)
        confirmed_by = item.get("confirmed_by")
        # Anything but a list is kept as sent, for the edits to report against the field.
        metastasis.confirmed_by = (
            list(confirmed_by) if isinstance(confirmed_by, list | tuple) else confirmed_by or []
        )
        metastases.append(metastasis)
    treatments = []
    for item in payload.get("treatments") or []:
        treatment = Treatment(case=case)
        _assign(treatment, [f for f in TREATMENT_FIELDS if f != "metastasis"], item)
        index = item.get("metastasis")
        if isinstance(index, int) and 0 <= index < len(metastases):
            treatment.metastasis = metastases[index]
        elif index is not None:
            # Kept as a dangling target so the edits report it against this treatment.
            treatment.metastasis = Metastasis(case=case)
        treatments.append(treatment)
    return case, metastases, treatments


def case_payload(case: Case, metastases=None, treatments=None) -> CasePayload:
    """The stored case in payload form, for change checks and partial updates."""
    metastases = list(case.metastases.all()) if metastases is None else metastases
    treatments = list(case.treatments.all()) if treatments is None else treatments
    payload: CasePayload = {name: getattr(case, _attname(Case, name)) for name in CASE_FIELDS}
    payload["metastases"] = [
        {name: getattr(m, _attname(Metastasis, name)) for name in METASTASIS_FIELDS}
        for m in metastases
    ]
    position = {id(m): index for index, m in enumerate(metastases)}
    position.update({m.pk: index for index, m in enumerate(metastases) if m.pk})
    payload["treatments"] = []
    for treatment in treatments:
        item = {name: getattr(treatment, name) for name in TREATMENT_FIELDS if name != "metastasis"}
        target = treatment.metastasis_id or (
            id(treatment.metastasis) if treatment.metastasis else None
        )
        item["metastasis"] = position.get(target) if target is not None else None
        payload["treatments"].append(item)
    return payload
