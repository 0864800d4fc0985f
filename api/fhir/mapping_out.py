"""A stored case as an mCODE Bundle that the import reads back to the same case.

Registry values with a home in FHIR or mCODE go there (gender, deceased, bodySite
with laterality, histology-morphology-behavior, TumorMarkerTest, TumorSize,
procedure intent); the rest travel in the registry's own extensions and code
systems (`api.fhir.codes`), so nothing is lost on a round trip. Resource ids are
derived from the case UUID, so exporting a case twice gives the same Bundle.
"""

import uuid

from fhir.resources.R4B.bundle import Bundle

from api.fhir import codes
from registry.models import (
    Case,
    DiagnosticSequence,
    Grade,
    Laterality,
    MenopausalStatus,
    Misdiagnosis,
    Modality,
    Presentation,
    Response,
    Source,
    StageGroup,
    StageSystem,
    TreatmentTarget,
    VitalStatus,
)
from registry.models import Intent as TreatmentIntent
from registry.subtypes import RECEPTOR_FIELDS

_PROCEDURE_PROFILES = {
    Modality.SURGERY: codes.PROFILE_SURGERY,
    Modality.RADIOTHERAPY: codes.PROFILE_RADIOTHERAPY,
}
# Modalities that are procedures; every other one is a medication.
_PROCEDURES = frozenset({Modality.SURGERY, Modality.RADIOTHERAPY, Modality.OTHER})
_VERIFIED = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
            "code": "confirmed",
        }
    ]
}
# The LOINC test a receptor in words is exported as (the concept map's interpretation rows).
_STATUS_TESTS = {
    "er_status": ("16112-5", "Estrogen receptor [Interpretation] in Tissue"),
    "pr_status": ("16113-3", "Progesterone receptor [Interpretation] in Tissue"),
    "her2_status": ("85319-2", "HER2 [Presence] in Breast cancer specimen by Immune stain"),
}
_LABORATORY = [
    {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                "code": "laboratory",
            }
        ]
    }
]


def case_to_bundle(case: Case) -> dict:
    """The case (with details loaded) as a collection Bundle, validated by fhir.resources."""
    bundle = _BundleWriter(case).bundle()
    return Bundle.model_validate(bundle).model_dump(mode="json", by_alias=True, exclude_none=True)


def _coding(system: str, code: str, display: str | None = None) -> dict:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return coding


def _months(value: int) -> dict:
    return {"value": value, "unit": "months", "system": codes.UCUM, "code": "mo"}


class _BundleWriter:
    def __init__(self, case: Case):
        self.case = case
        self.concepts = codes.concept_map()
        self.metastases = list(case.metastases.all())
        self.entries: list[dict] = []

    def _id(self, role: str) -> str:
        return str(uuid.uuid5(self.case.uuid, role))

    def _reference(self, role: str) -> dict:
        return {"reference": f"urn:uuid:{self._id(role)}"}

    def _add(self, role: str, resource: dict) -> None:
        resource = {"resourceType": resource.pop("resourceType"), "id": self._id(role), **resource}
        self.entries.append({"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource})

    def bundle(self) -> dict:
        case = self.case
        self._add("Patient", self._patient())
        self._add("primary", self._primary())
        for index, metastasis in enumerate(self.metastases):
            self._add(f"metastasis/{index}", self._secondary(metastasis))
        for name in RECEPTOR_FIELDS:
            if getattr(case, name) not in (None, ""):
                self._add(f"marker/{name}", self._tumor_marker(name, getattr(case, name)))
        for index, metastasis in enumerate(self.metastases):
            if metastasis.size_mm is not None:
                self._add(f"size/{index}", self._tumor_size(index, metastasis.size_mm))
        for index, treatment in enumerate(case.treatments.all()):
            self._add(f"treatment/{index}", self._treatment(treatment))
        return {
            "resourceType": "Bundle",
            "id": str(case.uuid),
            "identifier": {
                "system": f"{codes.LOCAL_ID_SYSTEM}/{case.institution.code}",
                "value": case.local_id,
            },
            "type": "collection",
            "entry": self.entries,
        }

    # ------------------------------------------------------------ patient and primary

    def _patient(self) -> dict:
        case = self.case
        patient = {
            "resourceType": "Patient",
            "meta": {"profile": [codes.PROFILE_PATIENT]},
            "gender": case.sex,
        }
        extensions = []
        if case.menopausal_status != MenopausalStatus.UNKNOWN:
            extensions.append(
                {"url": codes.EXT_MENOPAUSAL_STATUS, "valueCode": case.menopausal_status}
            )
        if case.follow_up_months is not None:
            extensions.append(
                {"url": codes.EXT_FOLLOW_UP, "valueDuration": _months(case.follow_up_months)}
            )
        if extensions:
            patient["extension"] = extensions
        if case.age_at_diagnosis is not None and case.year_of_diagnosis is not None:
            # Only the year: with the diagnosis year it gives back the age, and no more.
            patient["birthDate"] = f"{case.year_of_diagnosis - case.age_at_diagnosis:04d}"
        if case.vital_status != VitalStatus.UNKNOWN:
            patient["deceasedBoolean"] = case.vital_status == VitalStatus.DEAD
        return patient

    def _primary(self) -> dict:
        case = self.case
        extensions = [self._histology(case.primary_morphology_id, case.primary_morphology.title)]
        if case.grade != Grade.GX:
            extensions.append({"url": codes.EXT_GRADE, "valueCode": case.grade})
        if case.subtype_id:
            extensions.append(
                {
                    "url": codes.EXT_SUBTYPE,
                    "valueCoding": _coding(codes.CS_SUBTYPE, case.subtype_id, case.subtype.title),
                }
            )
        if case.source != Source.HOSPITAL:
            extensions.append({"url": codes.EXT_CASE_SOURCE, "valueCode": case.source})
        for system, value in ((codes.DOI_SYSTEM, case.doi), (codes.PMID_SYSTEM, case.pmid)):
            if value:
                extensions.append(
                    {
                        "url": codes.EXT_CASE_CITATION,
                        "valueIdentifier": {"system": system, "value": value},
                    }
                )
        condition = {
            "resourceType": "Condition",
            "meta": {"profile": [codes.PROFILE_PRIMARY]},
            "extension": extensions,
            "verificationStatus": _VERIFIED,
            "code": self._diagnosis(),
            "bodySite": [
                self._body_site(
                    case.primary_site_id, case.primary_site.title, case.primary_laterality
                )
            ],
            "subject": self._reference("Patient"),
        }
        if case.year_of_diagnosis is not None:
            condition["onsetDateTime"] = f"{case.year_of_diagnosis:04d}"
        elif case.age_at_diagnosis is not None:
            condition["onsetAge"] = {
                "value": case.age_at_diagnosis,
                "unit": "years",
                "system": codes.UCUM,
                "code": "a",
            }
        if case.stage_group != StageGroup.UNKNOWN:
            system = (
                codes.CS_FIGO_STAGE
                if case.stage_system == StageSystem.FIGO
                else codes.CS_STAGE_GROUP
            )
            condition["stage"] = [{"summary": {"coding": [_coding(system, case.stage_group)]}}]
        if case.diagnostic_sequence != DiagnosticSequence.UNKNOWN:
            condition.setdefault("extension", []).append(
                {"url": codes.EXT_DIAGNOSTIC_SEQUENCE, "valueCode": case.diagnostic_sequence}
            )
        return condition

    def _diagnosis(self) -> dict:
        case = self.case
        text = f"{case.primary_morphology.title} ({case.primary_site.title})"
        disorder = self.concepts.disorder(case.primary_site_id, case.primary_morphology_id)
        if disorder is None:
            return {"text": text}
        return {"coding": [_coding(disorder.system, disorder.code, disorder.display)], "text": text}

    def _histology(self, code: str, title: str) -> dict:
        return {
            "url": codes.EXT_HISTOLOGY,
            "valueCodeableConcept": {"coding": [_coding(codes.ICD_O_3, code, title)]},
        }

    def _body_site(self, code: str, title: str, laterality: str) -> dict:
        body_site = {"coding": [_coding(codes.ICD_O_3, code, title)]}
        qualifier = self.concepts.outside_concept("laterality", laterality)
        if laterality != Laterality.UNKNOWN and qualifier is not None:
            body_site["extension"] = [
                {
                    "url": codes.EXT_LATERALITY,
                    "valueCodeableConcept": {
                        "coding": [_coding(qualifier.system, qualifier.code, qualifier.display)]
                    },
                }
            ]
        return body_site

    # ------------------------------------------------------------ metastases

    def _secondary(self, metastasis) -> dict:
        extensions = []
        if metastasis.morphology_id:
            extensions.append(
                self._histology(metastasis.morphology_id, metastasis.morphology.title)
            )
        extensions.append(
            {"url": codes.EXT_RELATED_PRIMARY, "valueReference": self._reference("primary")}
        )
        if metastasis.months_from_primary is not None:
            extensions.append(
                {
                    "url": codes.EXT_TIME_FROM_PRIMARY,
                    "valueDuration": _months(metastasis.months_from_primary),
                }
            )
        if metastasis.presentation != Presentation.UNKNOWN:
            extensions.append({"url": codes.EXT_PRESENTATION, "valueCode": metastasis.presentation})
        if metastasis.misdiagnosis != Misdiagnosis.UNKNOWN or metastasis.misdiagnosis_text:
            concept = {"coding": [_coding(codes.CS_MISDIAGNOSIS, metastasis.misdiagnosis)]}
            if metastasis.misdiagnosis_text:
                concept["text"] = metastasis.misdiagnosis_text
            extensions.append({"url": codes.EXT_MISDIAGNOSIS, "valueCodeableConcept": concept})
        extensions += [
            {"url": codes.EXT_CONFIRMED_BY, "valueCode": method}
            for method in metastasis.confirmed_by
        ]
        secondary = self.concepts.outside_concept("condition_role", "secondary")
        return {
            "resourceType": "Condition",
            "meta": {"profile": [codes.PROFILE_SECONDARY]},
            "extension": extensions,
            "verificationStatus": _VERIFIED,
            "code": {"coding": [_coding(secondary.system, secondary.code, secondary.display)]},
            "bodySite": [
                self._body_site(metastasis.site_id, metastasis.site.title, metastasis.laterality)
            ],
            "subject": self._reference("Patient"),
        }

    # ------------------------------------------------------------ observations

    def _tumor_marker(self, name: str, value) -> dict:
        # A receptor in words is the interpretation test of that receptor (LOINC 16112-5...).
        in_words = name in _STATUS_TESTS
        test = (
            codes.Concept(codes.LOINC, *_STATUS_TESTS[name])
            if in_words
            else self.concepts.outside_concept("tumor_marker", name)
        )
        observation = {
            "resourceType": "Observation",
            "meta": {"profile": [codes.PROFILE_TUMOR_MARKER]},
            "status": "final",
            "category": _LABORATORY,
            "code": {"coding": [_coding(test.system, test.code, test.display)]},
            "subject": self._reference("Patient"),
            "focus": [self._reference("primary")],
        }
        if in_words:
            answer = self.concepts.outside_concept("receptor_status", value)
            observation["valueCodeableConcept"] = {
                "coding": [_coding(answer.system, answer.code, answer.display)]
            }
        elif name.endswith("_percent"):
            observation["valueQuantity"] = {
                "value": value,
                "unit": "%",
                "system": codes.UCUM,
                "code": "%",
            }
        else:
            answer = self.concepts.outside_concept(name, value)
            observation["valueCodeableConcept"] = {
                "coding": [_coding(answer.system, answer.code, answer.display)]
            }
        return observation

    def _tumor_size(self, index: int, size_mm: int) -> dict:
        return {
            "resourceType": "Observation",
            "meta": {"profile": [codes.PROFILE_TUMOR_SIZE]},
            "status": "final",
            "code": {"coding": [_coding(codes.LOINC, codes.LOINC_TUMOR_SIZE, "Size Tumor")]},
            "subject": self._reference("Patient"),
            "focus": [self._reference(f"metastasis/{index}")],
            "component": [
                {
                    "code": {
                        "coding": [
                            _coding(
                                codes.LOINC,
                                codes.LOINC_TUMOR_LONGEST_DIMENSION,
                                "Size.maximum dimension in Tumor",
                            )
                        ]
                    },
                    "valueQuantity": {
                        "value": size_mm,
                        "unit": "mm",
                        "system": codes.UCUM,
                        "code": "mm",
                    },
                }
            ],
        }

    # ------------------------------------------------------------ treatments

    def _treatment(self, treatment) -> dict:
        modality = Modality(treatment.modality)
        kind = _coding(codes.CS_MODALITY, modality.value, modality.label)
        extensions = []
        intent = self.concepts.outside_concept("intent", treatment.intent)
        if treatment.intent != TreatmentIntent.UNKNOWN and intent is not None:
            extensions.append(
                {
                    "url": codes.EXT_PROCEDURE_INTENT,
                    "valueCodeableConcept": {
                        "coding": [_coding(intent.system, intent.code, intent.display)]
                    },
                }
            )
        if treatment.months_from_primary is not None:
            extensions.append(
                {
                    "url": codes.EXT_TIME_FROM_PRIMARY,
                    "valueDuration": _months(treatment.months_from_primary),
                }
            )
        if treatment.response != Response.UNKNOWN:
            extensions.append({"url": codes.EXT_RESPONSE, "valueCode": treatment.response})
        resource: dict = {"extension": extensions} if extensions else {}
        if modality in _PROCEDURES:
            standard = self.concepts.outside_concept("modality", modality.value)
            coding = [kind]
            if standard is not None and standard.system == codes.SNOMED:
                coding.insert(0, _coding(standard.system, standard.code, standard.display))
            profile = _PROCEDURE_PROFILES.get(modality)
            resource = {
                "resourceType": "Procedure",
                **({"meta": {"profile": [profile]}} if profile else {}),
                **resource,
                "status": "completed",
                "code": {"coding": coding},
                "subject": self._reference("Patient"),
            }
        else:
            resource = {
                "resourceType": "MedicationStatement",
                "meta": {"profile": [codes.PROFILE_MEDICATION_STATEMENT]},
                **resource,
                "status": "completed",
                "medicationCodeableConcept": {"coding": [kind], "text": modality.label},
                "subject": self._reference("Patient"),
            }
        reason = self._reason(treatment)
        if reason is not None:
            resource["reasonReference"] = [reason]
        return resource

    def _reason(self, treatment) -> dict | None:
        if treatment.target == TreatmentTarget.PRIMARY:
            return self._reference("primary")
        if treatment.target == TreatmentTarget.METASTASIS:
            position = next(
                index for index, m in enumerate(self.metastases) if m.pk == treatment.metastasis_id
            )
            return self._reference(f"metastasis/{position}")
        return None
