"""A SecondaryCancerCondition: one metastasis, its site, timing, presentation, misdiagnosis."""

from api.fhir import codes
from api.fhir.outcome import CODE_INVALID, Issue
from api.fhir.reading.elements import ElementReader, Entry, codings, months_between, partial_date


class SecondaryReader(ElementReader):
    """Reads each metastasis into `metastases`."""

    def _read_secondary(self, entry: Entry) -> None:
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
            onset = partial_date(condition.onsetDateTime)
            if onset is None and condition.onsetPeriod is not None:
                onset, onset_path = (
                    partial_date(condition.onsetPeriod.start),
                    f"{path}.onsetPeriod.start",
                )
            interval = months_between(self.primary_onset, onset)
            months = (interval, onset_path) if interval is not None else None
        if months is not None:
            self._put(item, prefix, "months_from_primary", *months)
        presentation = self._coded_extension(
            condition, codes.EXT_PRESENTATION, path, "presentation"
        )
        if presentation:
            self._put(item, prefix, "presentation", *presentation)
        misdiagnosis = self._extension_value(
            condition, codes.EXT_MISDIAGNOSIS, path, "valueCodeableConcept"
        )
        if misdiagnosis:
            concept, where = misdiagnosis
            for position, coding in enumerate(codings(concept)):
                if coding.system == codes.CS_MISDIAGNOSIS:
                    self._put(
                        item, prefix, "misdiagnosis", coding.code, f"{where}.coding[{position}]"
                    )
            if concept.text is not None:
                self._put(item, prefix, "misdiagnosis_text", concept.text, f"{where}.text")
        confirmed = self._extensions(condition, codes.EXT_CONFIRMED_BY, path)
        if confirmed:
            item["confirmed_by"] = [
                extension.valueCode or self._snomed_value(extension, where, "confirmation")
                for extension, where in confirmed
            ]
            self.sources[f"{prefix}confirmed_by"] = confirmed[0][1]
        self.metastases.append(item)

    def _coded_extension(self, condition, url: str, path: str, target: str):
        """(registry code, FHIRPath) of a value-list extension: the registry's `valueCode`,
        or a `valueCodeableConcept` with a SNOMED CT code of the concept map."""
        found = self._extensions(condition, url, path)
        if found and found[0][0].valueCode is None and found[0][0].valueCodeableConcept:
            extension, where = found[0]
            return self._snomed_value(extension, where, target), where
        return self._extension_value(condition, url, path, "valueCode")

    def _snomed_value(self, extension, where: str, target: str) -> str | None:
        concept = extension.valueCodeableConcept
        mapped = self._mapped(concept, f"{where}.valueCodeableConcept", target) if concept else None
        if mapped is None:
            self.errors.append(
                Issue(
                    CODE_INVALID,
                    f"No {target} the registry holds: give its code (valueCode) or a "
                    "SNOMED CT code of the registry's concept map.",
                    where,
                )
            )
            return None
        return mapped.code
