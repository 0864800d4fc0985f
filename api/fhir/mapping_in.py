"""An mCODE Bundle as a registry case payload, with where each value came from.

The mapping reads the resources the registry understands (Patient,
PrimaryCancerCondition, SecondaryCancerCondition, TumorMarkerTest, TumorSize,
cancer-related procedures and medications) and reports every other entry as a
note, never silently. It keeps, for each payload field, the FHIRPath of the
element it came from, so the registry's validation edits (which speak of
``metastases[0].site``) can be reported against the Bundle the sender wrote.

Safe Harbor: names, identifiers, contact data and dates never reach the payload.
Dates are read only to derive the year of diagnosis, the age at diagnosis and
intervals in months.
"""

import datetime
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from fhir.resources.R4B.bundle import Bundle

from api.fhir import codes
from api.fhir.outcome import (
    BUSINESS_RULE,
    CODE_INVALID,
    INVALID,
    NOT_SUPPORTED,
    REQUIRED,
    FhirProblem,
    Issue,
    note,
)
from api.fhir.parsing import element_name
from registry.models import Modality, Sex, StageGroup, TreatmentTarget, VitalStatus
from registry.payload import CasePayload
from registry.pseudonyms import case_key_pseudonym

# AJCC stage codes as mCODE sends them: "3C", "IIIC", "1A1", "4B".
_AJCC_STAGE = re.compile(r"^(?:stage\s*)?(0|I{1,3}|IV|[1-4])([ABC])?(\d)?$", re.IGNORECASE)
_ROMAN = {"1": "I", "2": "II", "3": "III", "4": "IV"}
# Patient elements that identify a person; the import reads none of them.
_PATIENT_ELEMENTS_READ = frozenset(
    {"resource_type", "id", "meta", "extension", "gender", "birthDate", "birthDate__ext"}
    | {"deceasedBoolean", "deceasedDateTime", "implicitRules", "language"}
)
_WITHDRAWN = {
    "Observation": {"cancelled", "entered-in-error"},
    "Procedure": {"not-done", "entered-in-error"},
    "MedicationStatement": {"not-taken", "entered-in-error"},
    "MedicationAdministration": {"not-done", "entered-in-error"},
    "MedicationRequest": {"draft", "cancelled", "entered-in-error"},
}
_MEDICATIONS = ("MedicationStatement", "MedicationAdministration", "MedicationRequest")
_MEDICATION_PROFILES = frozenset(
    {
        codes.PROFILE_MEDICATION_STATEMENT,
        codes.PROFILE_MEDICATION_REQUEST,
        codes.PROFILE_MEDICATION_ADMINISTRATION,
    }
)
_ICD_O_3_TOPOGRAPHY_WITHOUT_DOT = re.compile(r"^C\d{3}$")
_PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


@dataclass
class MappedCase:
    """The payload for `case_upsert`, its key, and the FHIRPath behind each field."""

    local_id: str
    payload: CasePayload
    sources: dict[str, str]
    notes: list[Issue] = field(default_factory=list)

    def expression_for(self, registry_path: str) -> str:
        """The Bundle element a registry field path came from, or its nearest owner."""
        path = "" if registry_path in ("__all__", "non_field_errors") else registry_path
        while path not in self.sources and path:
            path = path.rpartition(".")[0]
        return self.sources.get(path, "Bundle")

    def issues_for(self, invalid: DjangoValidationError) -> list[Issue]:
        """The registry's validation errors as issues located in the Bundle."""
        by_path = invalid.message_dict if hasattr(invalid, "error_dict") else {"": invalid.messages}
        return [
            Issue(
                BUSINESS_RULE,
                f"{message} (registry field {path})" if path else message,
                self.expression_for(path),
            )
            for path, messages in by_path.items()
            for message in messages
        ]


def bundle_to_case(bundle: Bundle, *, institution_code: str) -> MappedCase:
    """Map the Bundle; FhirProblem(422) listing every element that could not be mapped.

    The case key is derived for the submitting institution (see `_local_id`).
    """
    return _BundleReader(bundle, codes.concept_map(), institution_code).read()


# ---------------------------------------------------------------- small readers


@dataclass(frozen=True)
class _Entry:
    index: int
    resource: object

    @property
    def path(self) -> str:
        return f"Bundle.entry[{self.index}].resource"

    @property
    def kind(self) -> str:
        return self.resource.get_resource_type()


@dataclass(frozen=True)
class _PartialDate:
    """A FHIR date or dateTime to the precision given; only ever used for arithmetic."""

    year: int
    month: int | None = None
    day: int | None = None


@dataclass(frozen=True)
class _Code:
    """A registry code found in a CodeableConcept, with the FHIRPath of its coding."""

    code: str
    path: str
    coding: object


def _partial_date(value) -> _PartialDate | None:
    if value is None:
        return None
    if isinstance(value, datetime.date):  # datetime.datetime too
        return _PartialDate(value.year, value.month, value.day)
    match = _PARTIAL_DATE.match(str(value))
    if match is None:
        return None
    year, month, day = match.groups()
    return _PartialDate(int(year), int(month) if month else None, int(day) if day else None)


def _months_between(start: _PartialDate | None, end: _PartialDate | None) -> int | None:
    """Whole months from start to end; None unless both are known to the month."""
    if start is None or end is None or start.month is None or end.month is None:
        return None
    months = (end.year - start.year) * 12 + end.month - start.month
    if start.day is not None and end.day is not None and end.day < start.day:
        months -= 1
    return months


def _years_between(birth: _PartialDate, event: _PartialDate) -> int:
    """Age in whole years; from the years alone unless both dates are complete."""
    age = event.year - birth.year
    if None not in (birth.month, birth.day, event.month, event.day) and (
        (event.month, event.day) < (birth.month, birth.day)
    ):
        age -= 1
    return age


def _whole(value: Decimal | int | float) -> int:
    # to_integral_value, not quantize: a huge value must reach the edits, not overflow here.
    return int(Decimal(str(value)).to_integral_value(rounding=ROUND_HALF_UP))


def _profiles(resource) -> set[str]:
    meta = getattr(resource, "meta", None)
    return {url.partition("|")[0] for url in (meta.profile or [])} if meta else set()


def _codings(concept) -> list:
    return list(concept.coding or []) if concept is not None else []


_STAGE_GROUP_PROFILES = frozenset(
    codes.MCODE + name
    for name in (
        "mcode-tnm-stage-group",
        "mcode-cancer-stage-group",
        "mcode-tnm-clinical-stage-group",
        "mcode-tnm-pathological-stage-group",
    )
)
# LOINC clinical and pathological stage group; SNOMED CT clinical and pathological TNM grouping.
_STAGE_GROUP_CODES = frozenset(
    {
        (codes.LOINC, "21908-9"),
        (codes.LOINC, "21902-2"),
        (codes.SNOMED, "399537006"),
        (codes.SNOMED, "399588009"),
    }
)


def _is_stage_group(observation, profiles: set[str]) -> bool:
    return bool(profiles & _STAGE_GROUP_PROFILES) or any(
        (coding.system, coding.code) in _STAGE_GROUP_CODES for coding in _codings(observation.code)
    )


def _topography_code(code: str) -> str:
    code = code.strip().upper()
    if _ICD_O_3_TOPOGRAPHY_WITHOUT_DOT.match(code):
        return f"{code[:3]}.{code[3]}"
    return code


# ---------------------------------------------------------------- the reader


class _BundleReader:
    def __init__(self, bundle: Bundle, concept_map: codes.ConceptMap, institution_code: str):
        self.bundle = bundle
        self.concepts = concept_map
        self.institution_code = institution_code
        self.entries = [
            _Entry(index, entry.resource)
            for index, entry in enumerate(bundle.entry or [])
            if entry.resource is not None
        ]
        self.errors: list[Issue] = []
        self.notes: list[Issue] = []
        self.sources: dict[str, str] = {"": "Bundle"}
        self.payload: CasePayload = {}
        self.metastases: list[dict] = []
        self.treatments: list[dict] = []
        self.secondary_at: dict[int, int] = {}  # entry index → metastasis index
        self.primary: _Entry | None = None
        self.patient: _Entry | None = None
        self.primary_onset: _PartialDate | None = None
        self.stage_observations: list[_Entry] = []
        self.references = self._reference_index(bundle)

    def read(self) -> MappedCase:
        by_role: dict[str, list[_Entry]] = {}
        for entry in self.entries:
            role = self._role(entry)
            if role is not None:
                by_role.setdefault(role, []).append(entry)
        self.patient = self._one(by_role.get("patient", []), "Patient")
        self.primary = self._one(by_role.get("primary", []), "PrimaryCancerCondition")
        if self.patient is not None:
            for role, entries in by_role.items():
                for entry in entries if role != "patient" else []:
                    self._check_subject(entry)
        if self.patient is not None:
            self._read_patient(self.patient)
        if self.primary is not None:
            self._read_primary(self.primary)
        secondaries = by_role.get("secondary", [])
        if not secondaries:
            self.errors.append(
                Issue(
                    REQUIRED,
                    "The Bundle has no SecondaryCancerCondition; a case needs at least one "
                    "metastasis (meta.profile " + codes.PROFILE_SECONDARY + ").",
                    "Bundle.entry",
                )
            )
        for entry in secondaries:
            self._read_secondary(entry)
        for entry in by_role.get("marker", []):
            self._read_tumor_marker(entry)
        for entry in by_role.get("size", []):
            self._read_tumor_size(entry)
        for entry in by_role.get("treatment", []):
            self._read_treatment(entry)
        local_id = self._local_id()
        if self.errors:
            raise FhirProblem(422, self.errors)
        self.payload["metastases"] = self.metastases
        self.payload["treatments"] = self.treatments
        return MappedCase(local_id, self.payload, self.sources, self.notes)

    # ------------------------------------------------------------ structure

    def _role(self, entry: _Entry) -> str | None:
        resource, kind, profiles = entry.resource, entry.kind, _profiles(entry.resource)
        withdrawn = self._withdrawn(entry)
        if withdrawn:
            self.notes.append(note(f"Not read: {withdrawn}.", entry.path))
            return None
        role = None
        if kind == "Patient":
            role = "patient"
        elif kind == "Condition":
            if codes.PROFILE_PRIMARY in profiles:
                role = "primary"
            elif codes.PROFILE_SECONDARY in profiles or any(
                self.concepts.registry_code("condition_role", coding.system, coding.code)
                for coding in _codings(resource.code)
            ):
                role = "secondary"
        elif kind == "Observation":
            if _is_stage_group(resource, profiles):
                self.stage_observations.append(entry)
                return "stage"  # read with the primary (stage_group)
            if self._mapped(resource.code, "", "tumor_marker"):
                role = "marker"
            elif codes.PROFILE_TUMOR_SIZE in profiles or any(
                coding.system == codes.LOINC and coding.code == codes.LOINC_TUMOR_SIZE
                for coding in _codings(resource.code)
            ):
                role = "size"
        elif kind == "Procedure" or kind in _MEDICATIONS:
            role = "treatment"
        if role is None:
            self.notes.append(
                note(f"Not read: the registry does not record this {kind}.", entry.path)
            )
        return role

    def _withdrawn(self, entry: _Entry) -> str | None:
        resource = entry.resource
        if entry.kind == "Condition":
            status = [c.code for c in _codings(resource.verificationStatus)]
            if {"refuted", "entered-in-error"} & set(status):
                return f"verificationStatus is {status[0]}"
            return None
        status = getattr(resource, "status", None)
        if status in _WITHDRAWN.get(entry.kind, ()):
            return f"status is {status}"
        return None

    def _one(self, entries: list[_Entry], name: str) -> _Entry | None:
        if not entries:
            self.errors.append(Issue(REQUIRED, f"The Bundle has no {name}.", "Bundle.entry"))
            return None
        for extra in entries[1:]:
            self.errors.append(
                Issue(
                    NOT_SUPPORTED,
                    f"A Bundle describes one case: a second {name} "
                    f"(the first is {entries[0].path}).",
                    extra.path,
                )
            )
        return entries[0]

    @staticmethod
    def _reference_index(bundle: Bundle) -> dict[str, int]:
        index = {}
        for position, entry in enumerate(bundle.entry or []):
            if entry.fullUrl:
                index[entry.fullUrl] = position
            resource = entry.resource
            if resource is not None and resource.id:
                index[f"{resource.get_resource_type()}/{resource.id}"] = position
        return index

    def _resolve(self, reference) -> int | None:
        """The entry a Reference points to: by fullUrl, Type/id, or a URL ending so."""
        target = getattr(reference, "reference", None)
        if not target:
            return None
        if target in self.references:
            return self.references[target]
        parts = target.split("/_history/")[0].rstrip("/").split("/")
        return self.references.get("/".join(parts[-2:])) if len(parts) >= 2 else None

    def _check_subject(self, entry: _Entry) -> None:
        subject = getattr(entry.resource, "subject", None)
        if subject is not None and self._resolve(subject) != self.patient.index:
            self.errors.append(
                Issue(
                    INVALID,
                    f"The subject '{subject.reference}' is not the Patient of this Bundle.",
                    f"{entry.path}.subject",
                )
            )

    # ------------------------------------------------------------ codes

    def _mapped(self, concept, where: str, target: str) -> _Code | None:
        """The first coding the concept map knows for this target."""
        for position, coding in enumerate(_codings(concept)):
            mapped = self.concepts.registry_code(target, coding.system, coding.code)
            if mapped is not None:
                return _Code(mapped, f"{where}.coding[{position}]", coding)
        return None

    def _icd_o_3(self, concept, where: str, topography: bool) -> _Code | None:
        """An ICD-O-3 coding of the wanted axis: C-codes are topography, the rest morphology."""
        for position, coding in enumerate(_codings(concept)):
            if coding.system not in codes.ICD_O_3_ALIASES or not coding.code:
                continue
            code = _topography_code(coding.code)
            if code.startswith("C") == topography:
                return _Code(code, f"{where}.coding[{position}]", coding)
        return None

    def _coded(self, concept, where: str, target: str) -> _Code | None:
        """An ICD-O-3 code of `target` (topography or morphology), given or mapped.

        Reports an error and returns None when the concept holds no usable coding.
        """
        found = self._icd_o_3(concept, where, target == "topography") or self._mapped(
            concept, where, target
        )
        if found is not None:
            return found
        for position, coding in enumerate(_codings(concept)):
            if coding.system == codes.SNOMED:
                display = f" ({coding.display})" if coding.display else ""
                self.errors.append(
                    Issue(
                        CODE_INVALID,
                        f"SNOMED CT {coding.code}{display} has no ICD-O-3 {target} in the "
                        "registry's concept map (seeds/fhir_concept_map.csv); send the ICD-O-3 "
                        f"code ({codes.ICD_O_3}) or a mapped SNOMED CT concept.",
                        f"{where}.coding[{position}]",
                    )
                )
                return None
        self.errors.append(
            Issue(CODE_INVALID, f"No ICD-O-3 or SNOMED CT coding gives the {target}.", where)
        )
        return None

    def _extensions(self, element, url: str, base: str) -> list[tuple[object, str]]:
        return [
            (extension, f"{base}.extension[{position}]")
            for position, extension in enumerate(getattr(element, "extension", None) or [])
            if extension.url == url
        ]

    def _extension_value(self, element, url: str, base: str, value_type: str):
        """(value, FHIRPath) of a single-valued extension, or None; a wrong value[x] is an error."""
        found = self._extensions(element, url, base)
        if not found:
            return None
        for _, repeated in found[1:]:
            self.errors.append(
                Issue(INVALID, f"Give this extension once (first at {found[0][1]}).", repeated)
            )
        extension, path = found[0]
        value = getattr(extension, value_type, None)
        if value is None:
            self.errors.append(
                Issue(INVALID, f"This extension carries its value as {value_type}.", path)
            )
            return None
        return value, f"{path}.{value_type}"

    def _months_extension(self, element, base: str) -> tuple[int, str] | None:
        found = self._extension_value(element, codes.EXT_TIME_FROM_PRIMARY, base, "valueDuration")
        return self._duration_months(found) if found else None

    def _duration_months(self, found) -> tuple[int, str] | None:
        duration, path = found
        per_unit = {"mo": 1, "a": 12}.get(duration.code or duration.unit)
        if duration.value is None or per_unit is None:
            self.errors.append(
                Issue(INVALID, "Give a value in months (UCUM 'mo') or years ('a').", path)
            )
            return None
        return _whole(Decimal(duration.value) * per_unit), f"{path}.value"

    def _not_read(self, why: str, path: str) -> None:
        """Something the registry cannot store: reported, and the rest of the case kept."""
        self.notes.append(note(f"Not read: {why}", path))

    def _put(self, target: dict, prefix: str, name: str, value, source: str) -> None:
        target[name] = value
        self.sources[f"{prefix}{name}"] = source

    # ------------------------------------------------------------ patient

    def _read_patient(self, entry: _Entry) -> None:
        patient, path = entry.resource, entry.path
        self.sources.update(
            {
                "sex": f"{path}.gender",
                "age_at_diagnosis": f"{path}.birthDate",
                "menopausal_status": path,
                "vital_status": path,
                "follow_up_months": path,
            }
        )
        if patient.gender is not None:
            if patient.gender in Sex.values:
                self.payload["sex"] = patient.gender
            else:
                self.errors.append(
                    Issue(
                        CODE_INVALID,
                        f"'{patient.gender}' is no administrative gender.",
                        f"{path}.gender",
                    )
                )
        if patient.deceasedBoolean is not None:
            status = VitalStatus.DEAD if patient.deceasedBoolean else VitalStatus.ALIVE
            self._put(self.payload, "", "vital_status", status, f"{path}.deceasedBoolean")
        elif patient.deceasedDateTime is not None:
            self._put(
                self.payload, "", "vital_status", VitalStatus.DEAD, f"{path}.deceasedDateTime"
            )
        menopause = self._extension_value(patient, codes.EXT_MENOPAUSAL_STATUS, path, "valueCode")
        if menopause:
            self._put(self.payload, "", "menopausal_status", *menopause)
        follow_up = self._extension_value(patient, codes.EXT_FOLLOW_UP, path, "valueDuration")
        months = self._duration_months(follow_up) if follow_up else None
        if months:
            self._put(self.payload, "", "follow_up_months", *months)
        for name in sorted(patient.model_fields_set - _PATIENT_ELEMENTS_READ):
            self.notes.append(
                note(
                    "Not stored: the registry keeps no names, identifiers, contact data "
                    "or other personal details.",
                    f"{path}.{element_name(name)}",
                )
            )
        if patient.birthDate is not None:
            self.notes.append(
                note("Used only to derive the age at diagnosis; not stored.", f"{path}.birthDate")
            )

    # ------------------------------------------------------------ primary cancer

    def _read_primary(self, entry: _Entry) -> None:
        condition, path = entry.resource, entry.path
        self.sources.update(
            {
                "": path,
                "primary_site": f"{path}.bodySite",
                "primary_morphology": path,
                "year_of_diagnosis": path,
            }
        )
        site = self._site(condition, path, "primary_site", "primary_laterality", self.payload, "")
        if site is not None:
            self.payload["primary_site"] = site
        morphology = self._morphology(condition, path, secondary=False)
        if morphology is not None:
            self._put(self.payload, "", "primary_morphology", *morphology)
        elif not self._extensions(condition, codes.EXT_HISTOLOGY, path):
            where = f"{path}.code"
            fallback = self._icd_o_3(condition.code, where, topography=False) or self._mapped(
                condition.code, where, "morphology"
            )
            if fallback is not None:
                self._put(self.payload, "", "primary_morphology", fallback.code, fallback.path)
            else:
                self.errors.append(
                    Issue(
                        REQUIRED,
                        "No histology: give the histology-morphology-behavior extension "
                        "(ICD-O-3 or SNOMED CT) or a mapped code.",
                        f"{path}.extension('{codes.EXT_HISTOLOGY}')",
                    )
                )
        self._read_diagnosis_time(condition, path)
        self._read_primary_extensions(condition, path)

    def _read_diagnosis_time(self, condition, path: str) -> None:
        onset, onset_path = None, None
        if condition.onsetDateTime is not None:
            onset, onset_path = _partial_date(condition.onsetDateTime), f"{path}.onsetDateTime"
        elif condition.onsetPeriod is not None and condition.onsetPeriod.start is not None:
            onset = _partial_date(condition.onsetPeriod.start)
            onset_path = f"{path}.onsetPeriod.start"
        self.primary_onset = onset
        diagnosed, diagnosed_path = onset, onset_path
        if diagnosed is None and condition.recordedDate is not None:
            diagnosed = _partial_date(condition.recordedDate)
            diagnosed_path = f"{path}.recordedDate"
        if diagnosed is not None:
            self._put(self.payload, "", "year_of_diagnosis", diagnosed.year, diagnosed_path)
        if condition.onsetAge is not None:
            age_path = f"{path}.onsetAge"
            per_year = {"a": 1, "mo": 12}.get(condition.onsetAge.code or condition.onsetAge.unit)
            if condition.onsetAge.value is None or per_year is None:
                self.errors.append(Issue(INVALID, "Give the age in years (UCUM 'a').", age_path))
            else:
                age = int(Decimal(condition.onsetAge.value) // per_year)
                self._put(self.payload, "", "age_at_diagnosis", age, f"{age_path}.value")
            return
        birth = _partial_date(self.patient.resource.birthDate) if self.patient else None
        if birth is not None and diagnosed is not None:
            self.payload["age_at_diagnosis"] = _years_between(birth, diagnosed)

    def _read_primary_extensions(self, condition, path: str) -> None:
        for name, url, value_type in (
            ("grade", codes.EXT_GRADE, "valueCode"),
            ("source", codes.EXT_CASE_SOURCE, "valueCode"),
        ):
            found = self._extension_value(condition, url, path, value_type)
            if found:
                self._put(self.payload, "", name, *found)
        subtype = self._extension_value(condition, codes.EXT_SUBTYPE, path, "valueCoding")
        if subtype:
            self._put(self.payload, "", "subtype", subtype[0].code, f"{subtype[1]}.code")
        for extension, where in self._extensions(condition, codes.EXT_CASE_CITATION, path):
            identifier = extension.valueIdentifier
            name = {codes.DOI_SYSTEM: "doi", codes.PMID_SYSTEM: "pmid"}.get(
                identifier.system if identifier else None
            )
            if name is None:
                self.errors.append(
                    Issue(
                        INVALID,
                        f"A citation is a valueIdentifier with system {codes.DOI_SYSTEM} "
                        f"or {codes.PMID_SYSTEM}.",
                        where,
                    )
                )
            else:
                self._put(
                    self.payload, "", name, identifier.value, f"{where}.valueIdentifier.value"
                )
        self._read_stage(condition, path)

    def _read_stage(self, condition, path: str) -> None:
        """The AJCC stage group: from stage.summary, else from a stage group Observation.

        Read in the registry's code system, AJCC's (http://cancerstaging.org, "3C")
        or SNOMED CT through the concept map. A finer group than the registry holds
        is read as the group that contains it (IA1 as IA, IVB as IV), with a note.
        """
        candidates = [
            (stage.summary, f"{path}.stage[{position}].summary")
            for position, stage in enumerate(condition.stage or [])
        ]
        candidates += [
            (entry.resource.valueCodeableConcept, f"{entry.path}.valueCodeableConcept")
            for entry in self.stage_observations
        ]
        for concept, where in candidates:
            for position, coding in enumerate(_codings(concept)):
                group, exact = self._stage_group_of(coding)
                if group is None:
                    continue
                coding_path = f"{where}.coding[{position}]"
                self._put(self.payload, "", "stage_group", group, coding_path)
                if not exact:
                    self.notes.append(
                        note(f"Stage {coding.code} read as stage group {group}.", coding_path)
                    )
                return
        if candidates:
            self.notes.append(
                note(
                    "Not read: no AJCC stage group the registry holds (0 to IV) in "
                    f"{codes.CS_STAGE_GROUP}, {codes.AJCC} or a mapped SNOMED CT code.",
                    candidates[0][1],
                )
            )

    def _stage_group_of(self, coding) -> tuple[str | None, bool]:
        """(registry stage group, exact?) for one coding; (None, False) if none fits."""
        if coding.system == codes.CS_STAGE_GROUP:
            return coding.code, True  # the validation edits judge the value
        if coding.system == codes.SNOMED:
            return self.concepts.registry_code("stage_group", coding.system, coding.code), True
        if coding.system != codes.AJCC or not coding.code:
            return None, False
        match = _AJCC_STAGE.match(coding.code.strip())
        if match is None:
            return None, False
        number, letter, digit = match.groups()
        group = _ROMAN.get(number, number.upper()) + (letter or "").upper()
        if group in StageGroup.values:
            return group, digit is None
        if letter and group[:-1] in StageGroup.values:
            return group[:-1], False
        return None, False

    # ------------------------------------------------------------ sites and histology

    def _site(self, condition, path, name, laterality_name, target, prefix) -> str | None:
        """The topography from bodySite, else from the condition's code; errors reported."""
        if condition.bodySite:
            where = f"{path}.bodySite[0]"
            found = self._coded(condition.bodySite[0], where, "topography")
            if found is None:
                return None
            self.sources[f"{prefix}{name}"] = found.path
            self._laterality(condition.bodySite[0], where, found, laterality_name, target, prefix)
            return found.code
        where = f"{path}.code"
        fallback = self._icd_o_3(condition.code, where, topography=True) or self._mapped(
            condition.code, where, "topography"
        )
        if fallback is not None:
            self.sources[f"{prefix}{name}"] = fallback.path
            # A disorder can name the side too ("... of female left breast").
            implied = self.concepts.registry_code(
                "laterality", fallback.coding.system, fallback.coding.code
            )
            if implied is not None:
                self._put(target, prefix, laterality_name, implied, fallback.path)
            return fallback.code
        self.errors.append(
            Issue(
                REQUIRED,
                "No site: give bodySite in ICD-O-3 topography or a mapped SNOMED CT concept.",
                f"{path}.bodySite",
            )
        )
        return None

    def _laterality(self, body_site, where, site: _Code, name, target, prefix) -> None:
        """From the mCODE laterality qualifier, else implied by the site (left breast)."""
        found = self._extension_value(
            body_site, codes.EXT_LATERALITY, where, "valueCodeableConcept"
        ) or self._extension_value(
            body_site, codes.EXT_LATERALITY_STU1, where, "valueCodeableConcept"
        )
        if found is not None:
            concept, concept_path = found
            mapped = self._mapped(concept, concept_path, "laterality")
            if mapped is None:
                self._not_read(
                    "laterality is read as a SNOMED CT qualifier such as 7771000 (left) or "
                    "24028007 (right); recorded as unknown.",
                    concept_path,
                )
            else:
                self._put(target, prefix, name, mapped.code, mapped.path)
            return
        implied = self.concepts.registry_code("laterality", site.coding.system, site.coding.code)
        if implied is not None:
            self._put(target, prefix, name, implied, site.path)

    def _morphology(self, condition, path, secondary: bool) -> tuple[str, str] | None:
        """(ICD-O-3 morphology, FHIRPath) from the histology extension; errors reported."""
        found = self._extension_value(condition, codes.EXT_HISTOLOGY, path, "valueCodeableConcept")
        if found is None:
            return None
        concept, where = found
        given = self._icd_o_3(concept, where, topography=False)
        if given is not None:
            return given.code, given.path
        mapped = self._coded(concept, where, "morphology")
        if mapped is None:
            return None
        if secondary:
            # A SNOMED CT morphology names the tumour type; at a metastatic site it is /6.
            return f"{mapped.code.partition('/')[0]}/6", mapped.path
        return mapped.code, mapped.path

    # ------------------------------------------------------------ metastases

    def _read_secondary(self, entry: _Entry) -> None:
        condition, path = entry.resource, entry.path
        index = len(self.metastases)
        prefix = f"metastases[{index}]."
        item: dict = {}
        self.sources[f"metastases[{index}]"] = path
        self.secondary_at[entry.index] = index
        site = self._site(condition, path, "site", "laterality", item, prefix)
        if site is not None:
            item["site"] = site
        morphology = self._morphology(condition, path, secondary=True)
        if morphology is not None:
            self._put(item, prefix, "morphology", *morphology)
        months = self._months_extension(condition, path)
        if months is None:
            onset_path = f"{path}.onsetDateTime"
            onset = _partial_date(condition.onsetDateTime)
            if onset is None and condition.onsetPeriod is not None:
                onset, onset_path = (
                    _partial_date(condition.onsetPeriod.start),
                    f"{path}.onsetPeriod.start",
                )
            interval = _months_between(self.primary_onset, onset)
            months = (interval, onset_path) if interval is not None else None
        if months is not None:
            self._put(item, prefix, "months_from_primary", *months)
        presentation = self._extension_value(condition, codes.EXT_PRESENTATION, path, "valueCode")
        if presentation:
            self._put(item, prefix, "presentation", *presentation)
        misdiagnosis = self._extension_value(
            condition, codes.EXT_MISDIAGNOSIS, path, "valueCodeableConcept"
        )
        if misdiagnosis:
            concept, where = misdiagnosis
            for position, coding in enumerate(_codings(concept)):
                if coding.system == codes.CS_MISDIAGNOSIS:
                    self._put(
                        item, prefix, "misdiagnosis", coding.code, f"{where}.coding[{position}]"
                    )
            if concept.text is not None:
                self._put(item, prefix, "misdiagnosis_text", concept.text, f"{where}.text")
        confirmed = self._extensions(condition, codes.EXT_CONFIRMED_BY, path)
        if confirmed:
            item["confirmed_by"] = [extension.valueCode for extension, _ in confirmed]
            self.sources[f"{prefix}confirmed_by"] = confirmed[0][1]
        self.metastases.append(item)

    # ------------------------------------------------------------ tumour markers and size

    def _read_tumor_marker(self, entry: _Entry) -> None:
        observation, path = entry.resource, entry.path
        name = self._mapped(observation.code, path, "tumor_marker").code
        if any(self._resolve(focus) in self.secondary_at for focus in observation.focus or []):
            self.notes.append(
                note("Not read: the registry records the receptors of the primary tumour.", path)
            )
            return
        found = self._marker_value(observation, path, name)
        if found is None:
            return
        value, where = found
        if name in self.payload and self.payload[name] != value:
            self.errors.append(
                Issue(
                    INVALID,
                    f"A second, different {name} result (the first is at {self.sources[name]}); "
                    "send the one result for the primary tumour.",
                    where,
                )
            )
            return
        self._put(self.payload, "", name, value, where)

    def _marker_value(self, observation, path: str, name: str):
        if name.endswith("_percent"):
            quantity = observation.valueQuantity
            if quantity is None:
                self._not_read(
                    "the registry records this receptor as the percentage of stained "
                    "nuclei (valueQuantity in UCUM '%'), not an interpretation.",
                    f"{path}.value[x]",
                )
                return None
            if (quantity.code or quantity.unit) != "%" or quantity.value is None:
                self._not_read(
                    "the registry records this receptor in percent (UCUM '%').",
                    f"{path}.valueQuantity",
                )
                return None
            return _whole(quantity.value), f"{path}.valueQuantity.value"
        concept = observation.valueCodeableConcept
        where = f"{path}.valueCodeableConcept"
        if concept is None:
            self._not_read("the result is read as valueCodeableConcept.", f"{path}.value[x]")
            return None
        mapped = self._mapped(concept, where, name)
        if mapped is None:
            expected = (
                "a LOINC answer LA6111-4 (0), LA11841-6 (1+), LA11842-4 (2+) or LA11843-2 (3+)"
                if name == "her2_ihc"
                else "SNOMED CT 10828004 (positive: amplified), 260385009 (negative) or "
                "42425007 (equivocal)"
            )
            self._not_read(f"the registry reads {expected}.", where)
            return None
        return mapped.code, mapped.path

    def _read_tumor_size(self, entry: _Entry) -> None:
        observation, path = entry.resource, entry.path
        targets = [self._resolve(focus) for focus in observation.focus or []]
        index = next((self.secondary_at[t] for t in targets if t in self.secondary_at), None)
        if index is None:
            self.notes.append(
                note("Not read: a tumour size is recorded for a metastasis named in focus.", path)
            )
            return
        quantity, where = observation.valueQuantity, f"{path}.valueQuantity"
        for position, component in enumerate(observation.component or []):
            if any(
                c.system == codes.LOINC and c.code == codes.LOINC_TUMOR_LONGEST_DIMENSION
                for c in _codings(component.code)
            ):
                quantity, where = (
                    component.valueQuantity,
                    f"{path}.component[{position}].valueQuantity",
                )
        per_unit = {"mm": 1, "cm": 10}.get(quantity.code or quantity.unit) if quantity else None
        if quantity is None or quantity.value is None or per_unit is None:
            self._not_read("the registry reads the longest dimension in mm or cm (UCUM).", where)
            return
        size = _whole(Decimal(quantity.value) * per_unit)
        self._put(
            self.metastases[index], f"metastases[{index}].", "size_mm", size, f"{where}.value"
        )

    # ------------------------------------------------------------ treatments

    def _read_treatment(self, entry: _Entry) -> None:
        resource, path = entry.resource, entry.path
        modality = self._modality(entry)
        if modality is None:
            return
        index = len(self.treatments)
        prefix = f"treatments[{index}]."
        self.sources[f"treatments[{index}]"] = path
        item = {"modality": modality[0]}
        self.sources[f"{prefix}modality"] = modality[1]
        for reason in resource.reasonReference or []:
            target = self._resolve(reason)
            if target in self.secondary_at:
                item["target"] = TreatmentTarget.METASTASIS
                item["metastasis"] = self.secondary_at[target]
                break
            if self.primary is not None and target == self.primary.index:
                item["target"] = TreatmentTarget.PRIMARY
                break
        intent = self._extension_value(
            resource, codes.EXT_PROCEDURE_INTENT, path, "valueCodeableConcept"
        ) or self._extension_value(
            resource, codes.EXT_TREATMENT_INTENT_STU1, path, "valueCodeableConcept"
        )
        if intent:
            mapped = self._mapped(intent[0], intent[1], "intent")
            if mapped is None:
                self._not_read(
                    "intent is read as a SNOMED CT code such as 373808002 (curative) or "
                    "363676003 (palliative).",
                    intent[1],
                )
            else:
                self._put(item, prefix, "intent", mapped.code, mapped.path)
        months = self._months_extension(resource, path)
        if months is None:
            started, started_path = self._treatment_start(entry)
            interval = _months_between(self.primary_onset, started)
            if interval is not None and interval < 0:
                # The operation or biopsy that yields the diagnosis often predates the
                # recorded onset; the registry counts treatment from the diagnosis.
                self.notes.append(
                    note(
                        f"Dated {-interval} month(s) before the primary cancer's onset; "
                        "recorded as month 0 (at diagnosis).",
                        started_path,
                    )
                )
                interval = 0
            months = (interval, started_path) if interval is not None else None
        if months is not None:
            self._put(item, prefix, "months_from_primary", *months)
        response = self._extension_value(resource, codes.EXT_RESPONSE, path, "valueCode")
        if response:
            self._put(item, prefix, "response", *response)
        self.treatments.append(item)

    def _modality(self, entry: _Entry) -> tuple[str, str] | None:
        """What kind of treatment, or None (with a note) for a resource that is none."""
        resource, path, profiles = entry.resource, entry.path, _profiles(entry.resource)
        if entry.kind == "Procedure":
            concepts = [(resource.code, f"{path}.code"), (resource.category, f"{path}.category")]
        else:
            concepts = [self._medication_concept(entry)]
        for concept, where in concepts:
            for position, coding in enumerate(_codings(concept)):
                if coding.system == codes.CS_MODALITY:
                    return coding.code, f"{where}.coding[{position}]"
        for concept, where in concepts:
            mapped = self._mapped(concept, where, "modality")
            if mapped is not None:
                return mapped.code, mapped.path
        for concept, where in concepts:
            by_ingredient = self._drug_modality(concept, where)
            if by_ingredient is not None:
                return by_ingredient
        if codes.PROFILE_SURGERY in profiles:
            return Modality.SURGERY, path
        if {codes.PROFILE_RADIOTHERAPY, codes.PROFILE_RADIATION_STU1} & profiles:
            return Modality.RADIOTHERAPY, path
        if _MEDICATION_PROFILES & profiles:
            self.notes.append(
                note(
                    "No drug code the registry maps; recorded as systemic therapy, not specified.",
                    concepts[0][1],
                )
            )
            return Modality.SYSTEMIC_NOS, path
        self.notes.append(
            note(
                f"Not read: this {entry.kind} is not a cancer treatment the registry maps "
                "(no mCODE profile, no mapped code).",
                path,
            )
        )
        return None

    def _drug_modality(self, concept, where: str) -> tuple[str, str] | None:
        """An RxNorm clinical or branded drug read as its ingredient's modality, with a note."""
        drugs = codes.drugs()
        for position, coding in enumerate(_codings(concept)):
            drug = drugs.get(coding.code) if coding.system == codes.RXNORM else None
            modality = drug and self.concepts.registry_code(
                "modality", codes.RXNORM, drug.ingredient_rxcui
            )
            if modality:
                path = f"{where}.coding[{position}]"
                self.notes.append(
                    note(
                        f"RxNorm {drug.tty} {drug.rxcui} ({drug.name}) read as its ingredient "
                        f"{drug.ingredient} (RxNorm {drug.ingredient_rxcui}): {modality}.",
                        path,
                    )
                )
                return modality, path
        return None

    def _medication_concept(self, entry: _Entry):
        resource, path = entry.resource, entry.path
        if resource.medicationCodeableConcept is not None:
            return resource.medicationCodeableConcept, f"{path}.medicationCodeableConcept"
        target = self._resolve(resource.medicationReference)
        medication = next((e for e in self.entries if e.index == target), None)
        if medication is not None and medication.kind == "Medication":
            return medication.resource.code, f"{medication.path}.code"
        return None, f"{path}.medicationReference"

    @staticmethod
    def _treatment_start(entry: _Entry) -> tuple[_PartialDate | None, str]:
        resource, path = entry.resource, entry.path
        if entry.kind == "MedicationRequest":
            return _partial_date(resource.authoredOn), f"{path}.authoredOn"
        prefix = "performed" if entry.kind == "Procedure" else "effective"
        moment = getattr(resource, f"{prefix}DateTime", None)
        if moment is not None:
            return _partial_date(moment), f"{path}.{prefix}DateTime"
        period = getattr(resource, f"{prefix}Period", None)
        return _partial_date(period.start if period else None), f"{path}.{prefix}Period.start"

    # ------------------------------------------------------------ the case's key

    def _local_id(self) -> str | None:
        """The case key, which never copies an identifier of the Bundle or its Patient.

        An identifier in the registry's own NamingSystem (what the export writes) is
        a registry key and is the key, under the same rules as any key. Any other
        Bundle.identifier, or else Patient.id, gives a keyed pseudonym for this
        institution (registry.pseudonyms): the same Bundle finds the same case again.
        """
        identifier = self.bundle.identifier
        system = (identifier.system or "") if identifier is not None else ""
        if identifier is not None and identifier.value:
            where = "Bundle.identifier.value"
            self.sources["local_id"] = where
            if system == codes.LOCAL_ID_SYSTEM or system.startswith(codes.LOCAL_ID_SYSTEM + "/"):
                return identifier.value
            kind, value = "Bundle.identifier", f"{system}|{identifier.value}"
        elif self.patient is not None and self.patient.resource.id:
            where = f"{self.patient.path}.id"
            kind, value = "Patient.id", self.patient.resource.id
        else:
            self.errors.append(
                Issue(
                    REQUIRED,
                    "Name the case: Bundle.identifier (your stable key for it) or Patient.id.",
                    "Bundle.identifier",
                )
            )
            return None
        self.sources["local_id"] = where
        self.notes.append(
            note(
                "Not stored: the case key is a pseudonym derived from this identifier with "
                "the registry's secret.",
                where,
            )
        )
        return case_key_pseudonym(
            institution_code=self.institution_code, kind=kind, identifier=value
        )
