"""What a count is broken down by: the dimensions, their values' keys, order and labels.

A dimension's value is a key ("C44.4", "50-59", "nodule"); a missing value is
`UNKNOWN`, and a case with no treatment is `NO_TREATMENT` in the treatment
dimensions. Rows are ordered by key, never by count: an order by count would
rank the hidden cells.
"""

import enum
import itertools
from collections.abc import Callable
from dataclasses import dataclass

from registry.access import AGE_BAND_SCHEMES, DEFAULT_AGE_BAND_SCHEME, age_band_keys, period_of
from registry.models import Sex
from registry.models.case import MAX_AGE
from registry.models.choices import (
    Confirmation,
    DiagnosticSequence,
    Misdiagnosis,
    Modality,
    Presentation,
    Response,
    VitalStatus,
)
from registry.vocabularies import current_vocabularies

UNKNOWN = "unknown"

# A case with no treatment recorded, in the treatment dimensions.
NO_TREATMENT = "no_treatment"


class Dimension(enum.StrEnum):
    """What a count can be broken down by."""

    SITE = "site"
    SITE_CATEGORY = "site_category"
    SITE_GROUP = "site_group"
    PRIMARY = "primary"
    PRIMARY_CATEGORY = "primary_category"
    PRIMARY_GROUP = "primary_group"
    MORPHOLOGY = "morphology"
    SUBTYPE = "subtype"
    SEX = "sex"
    AGE_BAND = "age_band"
    YEAR = "year"
    PERIOD = "period"
    # What the registry records of each metastasis, treatment and outcome.
    PRESENTATION = "presentation"
    MISDIAGNOSIS = "misdiagnosis"
    MISDIAGNOSED = "misdiagnosed"
    CONFIRMATION = "confirmation"
    MONTHS_TO_METASTASIS = "months_to_metastasis"
    MODALITY = "modality"
    RESPONSE = "response"
    VITAL_STATUS = "vital_status"
    DIAGNOSTIC_SEQUENCE = "diagnostic_sequence"  # what was found first

    @property
    def per_metastasis(self) -> bool:
        """A site of a metastasis: counted from the counted metastases where they serve."""
        return self in (Dimension.SITE, Dimension.SITE_CATEGORY, Dimension.SITE_GROUP)

    @property
    def clinical(self) -> bool:
        """Not copied onto the counted metastases: always counted over the joined tables."""
        return self in _CLINICAL

    @property
    def relation(self) -> str | None:
        """Where a value comes from: "metastases", "treatments", or None for the case."""
        if self.per_metastasis or self in _OF_METASTASIS:
            return "metastases"
        if self in (Dimension.MODALITY, Dimension.RESPONSE):
            return "treatments"
        return None

    @property
    def several_per_case(self) -> bool:
        """A case can have several values (one per metastasis or treatment)."""
        return self.relation is not None


_OF_METASTASIS = frozenset(
    {
        Dimension.PRESENTATION,
        Dimension.MISDIAGNOSIS,
        Dimension.MISDIAGNOSED,
        Dimension.CONFIRMATION,
        Dimension.MONTHS_TO_METASTASIS,
    }
)
_CLINICAL = _OF_METASTASIS | {
    Dimension.MODALITY,
    Dimension.RESPONSE,
    Dimension.VITAL_STATUS,
    Dimension.DIAGNOSTIC_SEQUENCE,
}

# Months from primary diagnosis to metastasis in the bands published as a dimension:
# (first month, last month), None for no end. Each band is a union of INTERVAL_BINS,
# so the bands tell nothing that the intervals' histogram does not.
MONTH_BANDS: tuple[tuple[int, int | None], ...] = (
    (0, 0),
    (1, 6),
    (7, 12),
    (13, 24),
    (25, 60),
    (61, None),
)


def month_band_key(first: int, last: int | None) -> str:
    if last is None:
        return f"{first}+"
    return str(first) if first == last else f"{first}-{last}"


# `group_by` of the site endpoints: the level of ICD-O-3 topography to count at.
SITE_LEVELS = {
    "code": Dimension.SITE,
    "category": Dimension.SITE_CATEGORY,
    "site_group": Dimension.SITE_GROUP,
}

# Column of each dimension, from a metastasis for sites and from the case otherwise.
FIELD = {
    Dimension.SITE: "site_id",
    Dimension.SITE_CATEGORY: "site__category",
    Dimension.SITE_GROUP: "site__site_group",
    Dimension.PRIMARY: "primary_site_id",
    Dimension.PRIMARY_CATEGORY: "primary_site__category",
    Dimension.PRIMARY_GROUP: "primary_site__site_group",
    Dimension.MORPHOLOGY: "primary_morphology_id",
    Dimension.SUBTYPE: "subtype_id",
    Dimension.SEX: "sex",
    Dimension.AGE_BAND: "age_at_diagnosis",
    Dimension.YEAR: "year_of_diagnosis",
    Dimension.PERIOD: "year_of_diagnosis",
    Dimension.PRESENTATION: "presentation",
    Dimension.MISDIAGNOSIS: "misdiagnosis",
    Dimension.MISDIAGNOSED: "misdiagnosis",
    Dimension.CONFIRMATION: "confirmed_by",
    Dimension.MONTHS_TO_METASTASIS: "months_from_primary",
    Dimension.MODALITY: "modality",
    Dimension.RESPONSE: "response",
    Dimension.VITAL_STATUS: "vital_status",
    Dimension.DIAGNOSTIC_SEQUENCE: "diagnostic_sequence",
}


# ---------------------------------------------------------------- age bands


@dataclass(frozen=True)
class AgeBands:
    """Age bands by their lower bounds, e.g. (0, 40, 50) -> 0-39, 40-49, 50+."""

    lower_bounds: tuple[int, ...] = AGE_BAND_SCHEMES[DEFAULT_AGE_BAND_SCHEME]

    def __post_init__(self):
        bounds = self.lower_bounds
        if not bounds or bounds[0] != 0:
            raise ValueError("Age bands start at 0.")
        if any(b <= a for a, b in itertools.pairwise(bounds)) or bounds[-1] > MAX_AGE:
            raise ValueError(f"Age band bounds increase strictly and stay within 0-{MAX_AGE}.")

    def band_keys(self) -> list[str]:
        return [key for key, _, _ in age_band_keys(self.lower_bounds)]

    def key_for(self, age: int | None) -> str:
        if age is None:
            return UNKNOWN
        index = max(i for i, low in enumerate(self.lower_bounds) if low <= age)
        return self.band_keys()[index]

    def label(self, key: str) -> str:
        if key.endswith("+"):
            return f"{key[:-1]} years or over"
        low, _, high = key.partition("-")
        return f"{low} to {high} years" if high else f"{low} years"


DEFAULT_AGE_BANDS = AgeBands()


# ---------------------------------------------------------------- keys, order and labels


def value_key(dimension: Dimension, raw, bands: AgeBands = DEFAULT_AGE_BANDS) -> str:
    """The key a value read from the database is counted under (an age under its band)."""
    if raw is None and dimension.relation == "treatments":
        return NO_TREATMENT
    if dimension is Dimension.AGE_BAND:
        return bands.key_for(raw)
    if dimension is Dimension.PERIOD and raw is not None:
        return period_of(raw)
    return UNKNOWN if raw is None or raw == "" else str(raw)


def in_order(dimension: Dimension, by_key: dict, bands: AgeBands = DEFAULT_AGE_BANDS):
    """Items in the dimension's natural order (codes, years, bands, sexes), unknown last."""
    if dimension is Dimension.AGE_BAND:
        rank = {key: i for i, key in enumerate(bands.band_keys())}
    elif dimension in _CHOICES:
        rank = {key: i for i, key in enumerate(_CHOICES[dimension])}
    else:
        rank = None

    def sort_key(key: str):
        if key == NO_TREATMENT:
            return (3, 0, "")
        if key == UNKNOWN:
            return (2, 0, "")
        if rank is not None:
            return (0, rank.get(key, len(rank)), key)
        if dimension in (Dimension.YEAR, Dimension.PERIOD):
            return (0, int(key[:4]), key)
        return (0, 0, key)

    return [(key, by_key[key]) for key in sorted(by_key, key=sort_key)]


def _month_band_label(first: int, last: int | None) -> str:
    if last is None:
        return f"{first} months or more"
    if first == last:
        return "At diagnosis (synchronous)" if first == 0 else f"{first} months"
    return f"{first} to {last} months"


# Coded values of the dimensions with a closed value set, in the order they are shown.
_CHOICES: dict[Dimension, dict[str, str]] = {
    Dimension.SEX: dict(Sex.choices),
    Dimension.PRESENTATION: dict(Presentation.choices),
    Dimension.MISDIAGNOSIS: dict(Misdiagnosis.choices),
    Dimension.MISDIAGNOSED: {
        "yes": "First taken for something else",
        "no": "Recognised at first diagnosis",
    },
    Dimension.CONFIRMATION: dict(Confirmation.choices),
    Dimension.MONTHS_TO_METASTASIS: {
        month_band_key(first, last): _month_band_label(first, last) for first, last in MONTH_BANDS
    },
    Dimension.MODALITY: dict(Modality.choices),
    Dimension.RESPONSE: dict(Response.choices),
    Dimension.VITAL_STATUS: dict(VitalStatus.choices),
    Dimension.DIAGNOSTIC_SEQUENCE: dict(DiagnosticSequence.choices),
}


def label_maker(dimension: Dimension, bands: AgeBands = DEFAULT_AGE_BANDS) -> Callable[[str], str]:
    """Key -> human label from the vocabularies ("C44.4" -> "Skin of scalp and neck")."""
    vocab = current_vocabularies()
    if dimension in (Dimension.SITE, Dimension.PRIMARY):
        titles = {code: row.title for code, row in vocab.topography.items()}
    elif dimension in (Dimension.SITE_CATEGORY, Dimension.PRIMARY_CATEGORY):
        titles = {row.category: row.category_title for row in vocab.topography.values()}
    elif dimension is Dimension.MORPHOLOGY:
        titles = {code: row.title for code, row in vocab.morphology.items()}
    elif dimension is Dimension.SUBTYPE:
        titles = {code: row.title for code, row in vocab.subtypes.items()}
    elif dimension in _CHOICES:
        titles = _CHOICES[dimension]
    elif dimension is Dimension.AGE_BAND:
        titles = {key: bands.label(key) for key in bands.band_keys()}
    else:
        titles = {}

    def label(key: str) -> str:
        if key == NO_TREATMENT:
            return "No treatment recorded"
        if key == UNKNOWN:
            return "Unknown"
        return titles.get(key, key)

    return label


def closed_values(dimension: Dimension) -> dict[str, str] | None:
    """{key: label} of a dimension with a closed set of values, in order; None for the others."""
    found = _CHOICES.get(dimension)
    return dict(found) if found is not None else None
