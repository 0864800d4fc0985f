"""The elements every resource reader shares: dates, codes, extensions, references, sites.

`ElementReader` holds the state of one reading (the payload being built, the
FHIRPath of each value, errors and notes) and the readers of elements that occur
in more than one resource; the resource readers (`patient`, `primary`,
`secondary`, `observations`, `treatments`) build on it.
"""

import datetime
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from fhir.resources.R4B.bundle import Bundle

from api.fhir import codes
from api.fhir.outcome import (
    CODE_INVALID,
    INVALID,
    REQUIRED,
    Issue,
    note,
)
from registry.payload import CasePayload

_ICD_O_3_TOPOGRAPHY_WITHOUT_DOT = re.compile(r"^C\d{3}$")
_PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


@dataclass(frozen=True)
class Entry:
    index: int
    resource: object

    @property
    def path(self) -> str:
        return f"Bundle.entry[{self.index}].resource"

    @property
    def kind(self) -> str:
        return self.resource.get_resource_type()


@dataclass(frozen=True)
class PartialDate:
    """A FHIR date or dateTime to the precision given; only ever used for arithmetic."""

    year: int
    month: int | None = None
    day: int | None = None


@dataclass(frozen=True)
class Code:
    """A registry code found in a CodeableConcept, with the FHIRPath of its coding."""

    code: str
    path: str
    coding: object


def partial_date(value) -> PartialDate | None:
    if value is None:
        return None
    if isinstance(value, datetime.date):  # datetime.datetime too
        return PartialDate(value.year, value.month, value.day)
    match = _PARTIAL_DATE.match(str(value))
    if match is None:
        return None
    year, month, day = match.groups()
    return PartialDate(int(year), int(month) if month else None, int(day) if day else None)


def months_between(start: PartialDate | None, end: PartialDate | None) -> int | None:
    """Whole months from start to end; None unless both are known to the month."""
    if start is None or end is None or start.month is None or end.month is None:
        return None
    months = (end.year - start.year) * 12 + end.month - start.month
    if start.day is not None and end.day is not None and end.day < start.day:
        months -= 1
    return months


def years_between(birth: PartialDate, event: PartialDate) -> int:
    """Age in whole years; from the years alone unless both dates are complete."""
    age = event.year - birth.year
    if None not in (birth.month, birth.day, event.month, event.day) and (
        (event.month, event.day) < (birth.month, birth.day)
    ):
        age -= 1
    return age


def whole(value: Decimal | int | float) -> int:
    # to_integral_value, not quantize: a huge value must reach the edits, not overflow here.
    return int(Decimal(str(value)).to_integral_value(rounding=ROUND_HALF_UP))


def profile_urls(resource) -> set[str]:
    meta = getattr(resource, "meta", None)
    return {url.partition("|")[0] for url in (meta.profile or [])} if meta else set()


def codings(concept) -> list:
    return list(concept.coding or []) if concept is not None else []


def topography_code(code: str) -> str:
    code = code.strip().upper()
    if _ICD_O_3_TOPOGRAPHY_WITHOUT_DOT.match(code):
        return f"{code[:3]}.{code[3]}"
    return code


# ---------------------------------------------------------------- the shared state and readers


class ElementReader:
    """One reading of a Bundle: its state, and the readers of shared elements."""

    def __init__(self, bundle: Bundle, concept_map: codes.ConceptMap, institution_code: str):
        self.bundle = bundle
        self.concepts = concept_map
        self.institution_code = institution_code
        self.entries = [
            Entry(index, entry.resource)
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
        self.primary: Entry | None = None
        self.patient: Entry | None = None
        self.primary_onset: PartialDate | None = None
        self.stage_observations: list[Entry] = []
        self.references = self._reference_index(bundle)

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

    def _check_subject(self, entry: Entry) -> None:
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

    def _mapped(self, concept, where: str, target: str) -> Code | None:
        """The first coding the concept map knows for this target."""
        for position, coding in enumerate(codings(concept)):
            mapped = self.concepts.registry_code(target, coding.system, coding.code)
            if mapped is not None:
                return Code(mapped, f"{where}.coding[{position}]", coding)
        return None

    def _icd_o_3(self, concept, where: str, topography: bool) -> Code | None:
        """An ICD-O-3 coding of the wanted axis: C-codes are topography, the rest morphology."""
        for position, coding in enumerate(codings(concept)):
            if coding.system not in codes.ICD_O_3_ALIASES or not coding.code:
                continue
            code = topography_code(coding.code)
            if code.startswith("C") == topography:
                return Code(code, f"{where}.coding[{position}]", coding)
        return None

    def _coded(self, concept, where: str, target: str) -> Code | None:
        """An ICD-O-3 code of `target` (topography or morphology), given or mapped.

        Reports an error and returns None when the concept holds no usable coding.
        """
        found = self._icd_o_3(concept, where, target == "topography") or self._mapped(
            concept, where, target
        )
        if found is not None:
            return found
        for position, coding in enumerate(codings(concept)):
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
        return whole(Decimal(duration.value) * per_unit), f"{path}.value"

    def _not_read(self, why: str, path: str) -> None:
        """Something the registry cannot store: reported, and the rest of the case kept."""
        self.notes.append(note(f"Not read: {why}", path))

    def _put(self, target: dict, prefix: str, name: str, value, source: str) -> None:
        target[name] = value
        self.sources[f"{prefix}{name}"] = source

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

    def _laterality(self, body_site, where, site: Code, name, target, prefix) -> None:
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
