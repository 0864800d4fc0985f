"""Procedures and medications: one treatment each, its modality, target, intent and timing."""

from api.fhir import codes
from api.fhir.outcome import (
    note,
)
from api.fhir.reading.elements import (
    ElementReader,
    Entry,
    PartialDate,
    codings,
    months_between,
    partial_date,
    profile_urls,
)
from registry.models import Modality, TreatmentTarget

_MEDICATION_PROFILES = frozenset(
    {
        codes.PROFILE_MEDICATION_STATEMENT,
        codes.PROFILE_MEDICATION_REQUEST,
        codes.PROFILE_MEDICATION_ADMINISTRATION,
    }
)


class TreatmentReader(ElementReader):
    """Reads each cancer-related procedure or medication into `treatments`."""

    def _read_treatment(self, entry: Entry) -> None:
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
            interval = months_between(self.primary_onset, started)
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

    def _modality(self, entry: Entry) -> tuple[str, str] | None:
        """What kind of treatment, or None (with a note) for a resource that is none."""
        resource, path, profiles = entry.resource, entry.path, profile_urls(entry.resource)
        if entry.kind == "Procedure":
            concepts = [(resource.code, f"{path}.code"), (resource.category, f"{path}.category")]
        else:
            concepts = [self._medication_concept(entry)]
        for concept, where in concepts:
            for position, coding in enumerate(codings(concept)):
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
        for position, coding in enumerate(codings(concept)):
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

    def _medication_concept(self, entry: Entry):
        resource, path = entry.resource, entry.path
        if resource.medicationCodeableConcept is not None:
            return resource.medicationCodeableConcept, f"{path}.medicationCodeableConcept"
        target = self._resolve(resource.medicationReference)
        medication = next((e for e in self.entries if e.index == target), None)
        if medication is not None and medication.kind == "Medication":
            return medication.resource.code, f"{medication.path}.code"
        return None, f"{path}.medicationReference"

    @staticmethod
    def _treatment_start(entry: Entry) -> tuple[PartialDate | None, str]:
        resource, path = entry.resource, entry.path
        if entry.kind == "MedicationRequest":
            return partial_date(resource.authoredOn), f"{path}.authoredOn"
        prefix = "performed" if entry.kind == "Procedure" else "effective"
        moment = getattr(resource, f"{prefix}DateTime", None)
        if moment is not None:
            return partial_date(moment), f"{path}.{prefix}DateTime"
        period = getattr(resource, f"{prefix}Period", None)
        return partial_date(period.start if period else None), f"{path}.{prefix}Period.start"
