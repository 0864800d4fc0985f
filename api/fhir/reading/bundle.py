"""The Bundle as a whole: which entry plays which role, one case per Bundle, the case's key."""

from fhir.resources.R4B.bundle import Bundle

from api.fhir import codes
from api.fhir.outcome import (
    NOT_SUPPORTED,
    REQUIRED,
    FhirProblem,
    Issue,
    note,
)
from api.fhir.reading.elements import Entry, codings, profile_urls
from api.fhir.reading.mapped import MappedCase
from api.fhir.reading.observations import ObservationReader
from api.fhir.reading.patient import PatientReader
from api.fhir.reading.primary import PrimaryReader
from api.fhir.reading.secondary import SecondaryReader
from api.fhir.reading.treatments import TreatmentReader
from registry.pseudonyms import case_key_pseudonym

_WITHDRAWN = {
    "Observation": {"cancelled", "entered-in-error"},
    "Procedure": {"not-done", "entered-in-error"},
    "MedicationStatement": {"not-taken", "entered-in-error"},
    "MedicationAdministration": {"not-done", "entered-in-error"},
    "MedicationRequest": {"draft", "cancelled", "entered-in-error"},
}
_MEDICATIONS = ("MedicationStatement", "MedicationAdministration", "MedicationRequest")

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
        (coding.system, coding.code) in _STAGE_GROUP_CODES for coding in codings(observation.code)
    )


def bundle_to_case(bundle: Bundle, *, institution_code: str) -> MappedCase:
    """Map the Bundle; FhirProblem(422) listing every element that could not be mapped.

    The case key is derived for the submitting institution (see `_local_id`).
    """
    return _BundleReader(bundle, codes.concept_map(), institution_code).read()


class _BundleReader(
    PatientReader, PrimaryReader, SecondaryReader, ObservationReader, TreatmentReader
):
    """Reads each entry with the reader of its resource, then checks the case as a whole."""

    def read(self) -> MappedCase:
        by_role: dict[str, list[Entry]] = {}
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

    def _role(self, entry: Entry) -> str | None:
        resource, kind, profiles = entry.resource, entry.kind, profile_urls(entry.resource)
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
                for coding in codings(resource.code)
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
                for coding in codings(resource.code)
            ):
                role = "size"
        elif kind == "Procedure" or kind in _MEDICATIONS:
            role = "treatment"
        if role is None:
            self.notes.append(
                note(f"Not read: the registry does not record this {kind}.", entry.path)
            )
        return role

    def _withdrawn(self, entry: Entry) -> str | None:
        resource = entry.resource
        if entry.kind == "Condition":
            status = [c.code for c in codings(resource.verificationStatus)]
            if {"refuted", "entered-in-error"} & set(status):
                return f"verificationStatus is {status[0]}"
            return None
        status = getattr(resource, "status", None)
        if status in _WITHDRAWN.get(entry.kind, ()):
            return f"status is {status}"
        return None

    def _one(self, entries: list[Entry], name: str) -> Entry | None:
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
