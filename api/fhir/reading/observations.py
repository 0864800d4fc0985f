"""Observations: tumour markers of the primary (receptors, Ki-67) and metastasis sizes."""

from decimal import Decimal

from api.fhir import codes
from api.fhir.outcome import (
    INVALID,
    Issue,
    note,
)
from api.fhir.reading.elements import ElementReader, Entry, codings, whole

# A receptor whose result may come in words, and the case field that holds the words.
_IN_WORDS = {"er_percent": "er_status", "pr_percent": "pr_status", "her2_ihc": "her2_status"}
_PUT_ALREADY = object()


class ObservationReader(ElementReader):
    """Reads tumour markers and tumour sizes."""

    def _read_tumor_marker(self, entry: Entry) -> None:
        observation, path = entry.resource, entry.path
        name = self._mapped(observation.code, path, "tumor_marker").code
        if any(self._resolve(focus) in self.secondary_at for focus in observation.focus or []):
            self.notes.append(
                note("Not read: the registry records the receptors of the primary tumour.", path)
            )
            return
        found = self._marker_value(observation, path, name)
        if found is None or found is _PUT_ALREADY:
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
        if name in _IN_WORDS and observation.valueQuantity is None:
            status = self._status_in_words(observation, path, name)
            if status is not None:
                return status
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
            return whole(quantity.value), f"{path}.valueQuantity.value"
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

    def _status_in_words(self, observation, path: str, name: str):
        """("positive"|"negative"|"equivocal", path) put as the receptor's status, or None.

        ER or PR given as an interpretation (SNOMED CT positive/negative/equivocal), and
        HER2 by IHC given so, are the receptor in words (`er_status`...); HER2 by ISH
        keeps its own answers (amplified is positive).
        """
        concept = observation.valueCodeableConcept
        if concept is None:
            return None
        where = f"{path}.valueCodeableConcept"
        mapped = self._mapped(concept, where, "receptor_status")
        if mapped is None:
            return None
        status_name = _IN_WORDS[name]
        self._put(self.payload, "", status_name, mapped.code, mapped.path)
        return _PUT_ALREADY

    def _read_tumor_size(self, entry: Entry) -> None:
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
                for c in codings(component.code)
            ):
                quantity, where = (
                    component.valueQuantity,
                    f"{path}.component[{position}].valueQuantity",
                )
        per_unit = {"mm": 1, "cm": 10}.get(quantity.code or quantity.unit) if quantity else None
        if quantity is None or quantity.value is None or per_unit is None:
            self._not_read("the registry reads the longest dimension in mm or cm (UCUM).", where)
            return
        size = whole(Decimal(quantity.value) * per_unit)
        self._put(
            self.metastases[index], f"metastases[{index}].", "size_mm", size, f"{where}.value"
        )
