"""The PrimaryCancerCondition: site, histology, diagnosis year and age, grade, stage."""

import re
from decimal import Decimal

from api.fhir import codes
from api.fhir.outcome import (
    INVALID,
    REQUIRED,
    Issue,
    note,
)
from api.fhir.reading.elements import ElementReader, Entry, codings, partial_date, years_between
from registry.models import StageGroup, StageSystem

# AJCC stage codes as mCODE sends them: "3C", "IIIC", "1A1", "4B".
_AJCC_STAGE = re.compile(r"^(?:stage\s*)?(0|I{1,3}|IV|[1-4])(is|a|[ABCDS])?(\d)?$", re.IGNORECASE)
_ROMAN = {"1": "I", "2": "II", "3": "III", "4": "IV"}


class PrimaryReader(ElementReader):
    """Reads the primary cancer (with any stage group Observations)."""

    def _read_primary(self, entry: Entry) -> None:
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
            onset, onset_path = partial_date(condition.onsetDateTime), f"{path}.onsetDateTime"
        elif condition.onsetPeriod is not None and condition.onsetPeriod.start is not None:
            onset = partial_date(condition.onsetPeriod.start)
            onset_path = f"{path}.onsetPeriod.start"
        self.primary_onset = onset
        diagnosed, diagnosed_path = onset, onset_path
        if diagnosed is None and condition.recordedDate is not None:
            diagnosed = partial_date(condition.recordedDate)
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
        birth = partial_date(self.patient.resource.birthDate) if self.patient else None
        if birth is not None and diagnosed is not None:
            self.payload["age_at_diagnosis"] = years_between(birth, diagnosed)

    def _read_primary_extensions(self, condition, path: str) -> None:
        for name, url, value_type in (
            ("grade", codes.EXT_GRADE, "valueCode"),
            ("source", codes.EXT_CASE_SOURCE, "valueCode"),
            ("diagnostic_sequence", codes.EXT_DIAGNOSTIC_SEQUENCE, "valueCode"),
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
            for position, coding in enumerate(codings(concept)):
                group, exact = self._stage_group_of(coding)
                if group is None:
                    continue
                coding_path = f"{where}.coding[{position}]"
                self._put(self.payload, "", "stage_group", group, coding_path)
                if coding.system == codes.CS_FIGO_STAGE:
                    self._put(self.payload, "", "stage_system", StageSystem.FIGO, coding_path)
                if not exact:
                    self.notes.append(
                        note(f"Stage {coding.code} read as stage group {group}.", coding_path)
                    )
                return
        if candidates:
            self.notes.append(
                note(
                    "Not read: no AJCC stage group (or FIGO stage) the registry holds (0 to IVC) "
                    f"in {codes.CS_STAGE_GROUP}, {codes.CS_FIGO_STAGE}, {codes.AJCC} or a "
                    "mapped SNOMED CT code.",
                    candidates[0][1],
                )
            )

    def _stage_group_of(self, coding) -> tuple[str | None, bool]:
        """(registry stage group, exact?) for one coding; (None, False) if none fits."""
        if coding.system in (codes.CS_STAGE_GROUP, codes.CS_FIGO_STAGE):
            return coding.code, True  # the validation edits judge the value
        if coding.system == codes.SNOMED:
            return self.concepts.registry_code("stage_group", coding.system, coding.code), True
        if coding.system != codes.AJCC or not coding.code:
            return None, False
        match = _AJCC_STAGE.match(coding.code.strip())
        if match is None:
            return None, False
        number, letter, digit = match.groups()
        roman = _ROMAN.get(number, number.upper())
        if letter in ("is", "a") and roman == "0":
            return f"0{letter.lower()}", digit is None  # 0is, 0a (AJCC's in situ groups)
        letter = (letter or "").upper() if letter not in ("is", "a") else ""
        # The finest group the registry holds: IIIC2, else IIIC, else III.
        for group, exact in ((roman + letter + (digit or ""), True), (roman + letter, False)):
            if group in StageGroup.values:
                return group, exact or digit is None
        return (roman, False) if roman in StageGroup.values else (None, False)
