"""Code systems, profiles and extensions of the exchange, and the concept map from seeds/.

The mapping of SNOMED CT, LOINC and RxNorm concepts to registry codes is data
(`seeds/fhir_concept_map.csv`), so a curator can extend it without touching code.
"""

import csv
import functools
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

CONCEPT_MAP_FILE = Path(settings.BASE_DIR) / "seeds" / "fhir_concept_map.csv"
DRUG_FILE = Path(settings.BASE_DIR) / "seeds" / "rxnorm_oncology_drugs.csv"

# ---------------------------------------------------------------- code systems

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
ICD_O_3 = "http://terminology.hl7.org/CodeSystem/icd-o-3"
# Some senders name ICD-O-3 by its OID; it is the same code system.
ICD_O_3_ALIASES = frozenset({ICD_O_3, "urn:oid:2.16.840.1.113883.6.43.1"})
# AJCC staging, as mCODE names it: codes such as "3C" (stage IIIC) or "IIIC".
AJCC = "http://cancerstaging.org"
ISSUE_TYPE = "http://hl7.org/fhir/issue-type"
DOI_SYSTEM = "https://doi.org"
PMID_SYSTEM = "https://pubmed.ncbi.nlm.nih.gov"

# ---------------------------------------------------------------- mCODE

MCODE = "http://hl7.org/fhir/us/mcode/StructureDefinition/"
PROFILE_PATIENT = MCODE + "mcode-cancer-patient"
PROFILE_PRIMARY = MCODE + "mcode-primary-cancer-condition"
PROFILE_SECONDARY = MCODE + "mcode-secondary-cancer-condition"
PROFILE_TUMOR_MARKER = MCODE + "mcode-tumor-marker-test"
PROFILE_TUMOR_SIZE = MCODE + "mcode-tumor-size"
PROFILE_SURGERY = MCODE + "mcode-cancer-related-surgical-procedure"
PROFILE_RADIOTHERAPY = MCODE + "mcode-radiotherapy-course-summary"
# mCODE STU1 name of the radiotherapy profile, still sent by older systems.
PROFILE_RADIATION_STU1 = MCODE + "mcode-cancer-related-radiation-procedure"
PROFILE_MEDICATION_STATEMENT = MCODE + "mcode-cancer-related-medication-statement"
PROFILE_MEDICATION_REQUEST = MCODE + "mcode-cancer-related-medication-request"
PROFILE_MEDICATION_ADMINISTRATION = MCODE + "mcode-cancer-related-medication-administration"
EXT_HISTOLOGY = MCODE + "mcode-histology-morphology-behavior"
EXT_LATERALITY = MCODE + "mcode-laterality-qualifier"
# mCODE STU1 name of the laterality extension.
EXT_LATERALITY_STU1 = MCODE + "mcode-laterality"
EXT_RELATED_PRIMARY = MCODE + "mcode-related-primary-cancer-condition"
EXT_PROCEDURE_INTENT = MCODE + "mcode-procedure-intent"
# mCODE STU1 name of the intent extension.
EXT_TREATMENT_INTENT_STU1 = MCODE + "mcode-treatment-intent"

LOINC_TUMOR_SIZE = "21889-1"
LOINC_TUMOR_LONGEST_DIMENSION = "33728-7"

# ---------------------------------------------------------------- the registry's own

# Canonical URLs name the registry's definitions; like all canonicals they need not resolve.
REGISTRY = "https://registry.example.org/fhir/"
EXT_CASE_SOURCE = REGISTRY + "StructureDefinition/case-source"
EXT_CASE_CITATION = REGISTRY + "StructureDefinition/case-citation"
EXT_MENOPAUSAL_STATUS = REGISTRY + "StructureDefinition/menopausal-status"
EXT_FOLLOW_UP = REGISTRY + "StructureDefinition/follow-up"
EXT_GRADE = REGISTRY + "StructureDefinition/histologic-grade"
EXT_SUBTYPE = REGISTRY + "StructureDefinition/molecular-subtype"
EXT_TIME_FROM_PRIMARY = REGISTRY + "StructureDefinition/time-from-primary-diagnosis"
EXT_PRESENTATION = REGISTRY + "StructureDefinition/metastasis-presentation"
# On the PrimaryCancerCondition: what was found first (primary_first, metastasis_first, ...).
EXT_DIAGNOSTIC_SEQUENCE = REGISTRY + "StructureDefinition/diagnostic-sequence"
EXT_MISDIAGNOSIS = REGISTRY + "StructureDefinition/metastasis-misdiagnosis"
EXT_CONFIRMED_BY = REGISTRY + "StructureDefinition/metastasis-confirmed-by"
EXT_RESPONSE = REGISTRY + "StructureDefinition/treatment-response"
CS_STAGE_GROUP = REGISTRY + "CodeSystem/stage-group"
# FIGO stages of gynaecological primaries (IB2, IIIC1, IVB); no published FHIR system names them.
CS_FIGO_STAGE = REGISTRY + "CodeSystem/figo-stage"
CS_DIAGNOSTIC_SEQUENCE = REGISTRY + "CodeSystem/diagnostic-sequence"
CS_MODALITY = REGISTRY + "CodeSystem/treatment-modality"
CS_MISDIAGNOSIS = REGISTRY + "CodeSystem/misdiagnosis"
CS_SUBTYPE = REGISTRY + "CodeSystem/subtype"
CS_WRITE_OUTCOME = REGISTRY + "CodeSystem/write-outcome"
LOCAL_ID_SYSTEM = REGISTRY + "NamingSystem/local-id"


# ---------------------------------------------------------------- the concept map


@dataclass(frozen=True)
class Concept:
    system: str
    code: str
    display: str


class ConceptMap:
    """Outside concepts to registry codes, per target (topography, morphology, …)."""

    def __init__(self, rows: list[dict[str, str]]):
        self.rows = rows
        self._forward: dict[tuple[str, str, str], str] = {}
        self._backward: dict[tuple[str, str], Concept] = {}
        self._disorders: dict[tuple[str, str], Concept] = {}
        axes: dict[Concept, dict[str, str]] = defaultdict(dict)
        for row in rows:
            key = (row["target"], row["source_system"], row["source_code"])
            self._forward[key] = row["target_code"]
            concept = Concept(row["source_system"], row["source_code"], row["source_display"])
            self._backward.setdefault((row["target"], row["target_code"]), concept)
            axes[concept][row["target"]] = row["target_code"]
        for concept, targets in axes.items():
            if {"topography", "morphology"} <= targets.keys():
                key = (targets["topography"], targets["morphology"])
                self._disorders.setdefault(key, concept)

    def registry_code(self, target: str, system: str | None, code: str | None) -> str | None:
        """The registry code an outside concept stands for, or None."""
        return self._forward.get((target, system or "", code or ""))

    def outside_concept(self, target: str, registry_code: str) -> Concept | None:
        """The concept the export writes for a registry code (the file's first row)."""
        return self._backward.get((target, registry_code))

    def disorder(self, topography: str, morphology: str) -> Concept | None:
        """A concept that names both the site and the histology, e.g. IDC of breast."""
        return self._disorders.get((topography, morphology))


def read_concept_map(path: Path = CONCEPT_MAP_FILE) -> ConceptMap:
    with path.open(encoding="utf-8", newline="") as seed:
        lines = [line for line in seed if line.strip() and not line.startswith("#")]
    return ConceptMap(list(csv.DictReader(lines)))


@functools.cache
def concept_map() -> ConceptMap:
    """The shipped concept map, read once per process."""
    return read_concept_map()


# ---------------------------------------------------------------- RxNorm drugs


@dataclass(frozen=True)
class Drug:
    """An RxNorm clinical or branded drug and the ingredient it is given for."""

    rxcui: str
    tty: str
    name: str
    ingredient_rxcui: str
    ingredient: str


def read_drugs(path: Path = DRUG_FILE) -> dict[str, Drug]:
    with path.open(encoding="utf-8", newline="") as seed:
        lines = [line for line in seed if line.strip() and not line.startswith("#")]
    return {
        row["rxcui"]: Drug(
            row["rxcui"], row["tty"], row["name"], row["ingredient_rxcui"], row["ingredient"]
        )
        for row in csv.DictReader(lines)
    }


@functools.cache
def drugs() -> dict[str, Drug]:
    """The shipped RxNorm drug table (seeds/rxnorm_oncology_drugs.csv), read once per process."""
    return read_drugs()
