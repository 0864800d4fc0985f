"""The case filters and the granularity they publish at, each filter declared once.

Why one declaration: a filter spelled in four modules (its form field, its
values, its SQL condition, the analysts' policy) drifts, and a filter declared
but forgotten in the SQL is silently ignored, which widens an answer without
telling anyone. Each `CaseFilter` below says what it accepts, what it selects
and how analysts may use it; everything else is derived from `FILTERS`:

- `registry.selectors.CaseFilters` (the validated values) and `case_conditions`;
- `registry.case_filters.CaseFilterSet` (the form the API and the admin read);
- `registry.access.check_statistics_query` (what an analyst may ask);
- the OpenAPI parameters (`api.filters`) and the published data dictionary.

How analysts may use a filter (`AnalystUse`), and why: a list of values is a
union, and the difference of a union and its padding is the hidden cell
(`site=Y&primary=X,S` minus `site=Y&primary=S`), with 2^|S| such pairs to
average. So analysts give one value per filter, or one published grouping
(a category, a site group, a band of a published scheme, a period), whose
members are fixed and few; curators keep every filter and every list.
"""

import datetime
import enum
import re
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q

from registry.case_search import case_search
from registry.models import Case, Metastasis, ReviewStatus, Sex, Source, Subtype, Treatment
from registry.models.case import FIRST_YEAR, MAX_AGE
from registry.models.choices import Misdiagnosis, Modality, Presentation, Response, VitalStatus

LAST_YEAR = 2100

# ---------------------------------------------------------------- published granularity

# Age band schemes by name: lower bounds. Every band of a coarser scheme is a union of
# bands of the finest, so that subtracting one scheme from another yields only bands
# that are published anyway.
AGE_BAND_SCHEMES: dict[str, tuple[int, ...]] = {
    "decades": (0, 40, 50, 60, 70, 80),
    "broad": (0, 50, 70),
}
DEFAULT_AGE_BAND_SCHEME = "decades"

# Years of diagnosis are published singly and in five-year periods (2015-2019); a
# five-year period is a union of single years, for the same reason.
PERIOD_YEARS = 5


def age_band_keys(scheme: tuple[int, ...]) -> list[tuple[str, int, int]]:
    """(key, youngest, oldest) of each band of a scheme: 0-39, 40-49, ..., 80+."""
    bands = []
    for index, low in enumerate(scheme):
        if index == len(scheme) - 1:
            bands.append((f"{low}+", low, MAX_AGE))
        else:
            high = scheme[index + 1] - 1
            bands.append((f"{low}-{high}" if high > low else str(low), low, high))
    return bands


PUBLISHED_AGE_BANDS: dict[str, tuple[int, int]] = {
    key: (low, high)
    for scheme in AGE_BAND_SCHEMES.values()
    for key, low, high in age_band_keys(scheme)
}

_PERIOD = re.compile(r"(?P<first>[0-9]{4})(?:-(?P<last>[0-9]{4}))?")


def period_of(year: int) -> str:
    """The five-year period of a year: 2017 -> 2015-2019."""
    start = year - year % PERIOD_YEARS
    return f"{start}-{start + PERIOD_YEARS - 1}"


def published_periods(first_year: int = 1990) -> list[str]:
    """The five-year periods from `first_year` to this year's, newest first (for menus)."""
    this_year = datetime.date.today().year
    starts = range(this_year - this_year % PERIOD_YEARS, first_year - 1, -PERIOD_YEARS)
    return [f"{start}-{start + PERIOD_YEARS - 1}" for start in starts]


def period_range(text: str) -> tuple[int, int]:
    """A published period, `2019` or `2015-2019`, as (first year, last year); ValueError else."""
    match = _PERIOD.fullmatch(text)
    if match is None:
        raise ValueError(text)
    start = int(match["first"])
    end = int(match["last"] or start)
    if match["last"] and (start % PERIOD_YEARS or end != start + PERIOD_YEARS - 1):
        raise ValueError(text)
    if start < FIRST_YEAR:
        raise ValueError(text)
    return start, end


def age_band_range(key: str) -> tuple[int, int]:
    """A published age band (`50-59`, `80+`) as (youngest, oldest); KeyError else."""
    return PUBLISHED_AGE_BANDS[key]


def ranges_condition(field: str, ranges: tuple[tuple[int, int], ...]) -> Q:
    """`field` within any of the inclusive ranges."""
    condition = Q()
    for low, high in ranges:
        condition |= Q(**{f"{field}__gte": low, f"{field}__lte": high})
    return condition


# ---------------------------------------------------------------- the declaration


class AnalystUse(enum.StrEnum):
    """How an analyst may use a filter."""

    ONE_VALUE = "one value"
    GROUPING = "one published grouping"
    VERIFIED_ONLY = "verified only"  # `status`: what analysts count anyway
    CURATORS = "curators only"


class Kind(enum.StrEnum):
    """What a filter's value is: codes (one or a list), a whole number, a search term."""

    CODES = "codes"
    AGE = "age"
    YEAR = "year"
    SEARCH = "search"


# (the value given, the name of the case's id in the model filtered) -> the condition
Condition = Callable[[object, str], Q]


@dataclass(frozen=True)
class CaseFilter:
    """One filter of the case list, every statistics endpoint and the admin's queue."""

    name: str
    help: str
    analysts: AnalystUse
    # What it selects. A site filter instead gives `lesion`, a condition on one
    # metastasis: the site filters given together select cases with one metastasis
    # matching them all (one EXISTS), so site=C44.4&site_group=Skin is the scalp.
    condition: Condition | None = None
    lesion: Callable[[tuple[str, ...]], Q] | None = None
    kind: Kind = Kind.CODES
    choices: tuple[str, ...] | None = None  # the closed list of values, if any
    vocabulary: type | None = None  # the table its codes come from (the schema's enum)
    advice: str = ""  # for analysts: what to ask instead, when they may not use it

    @property
    def takes_list(self) -> bool:
        return self.kind is Kind.CODES


def _in_categories(code_field: str, categories: tuple[str, ...]) -> Q:
    """Codes in 3-character categories (C50 -> C50.x), matched on the code itself.

    A category is the first three characters of its codes, so a prefix match on the
    indexed code column does without a join to the topography table.
    """
    match = Q()
    for category in categories:
        match |= Q(**{f"{code_field}__startswith": f"{category}."})
    return match


def _among(field: str) -> Condition:
    return lambda values, case: Q(**{f"{field}__in": values})


def _bound(lookup: str) -> Condition:
    return lambda value, case: Q(**{lookup: value})


def _any_metastasis(field: str) -> Condition:
    """Cases with a metastasis of these values: each clinical filter is its own EXISTS, so
    presentation=nodule&site=C44.4 is a nodule and a scalp metastasis, not always one."""

    def condition(values, case: str) -> Q:
        lesions = Metastasis.objects.filter(**{f"{field}__in": values}, case_id=OuterRef(case))
        return Q(Exists(lesions))

    return condition


def _any_treatment(field: str) -> Condition:
    def condition(values, case: str) -> Q:
        given = Treatment.objects.filter(**{f"{field}__in": values}, case_id=OuterRef(case))
        return Q(Exists(given))

    return condition


def _vital_status(values, case: str) -> Q:
    if case == "pk":
        return Q(vital_status__in=values)
    # The counted metastases do not copy it.
    return Q(Exists(Case.objects.filter(pk=OuterRef(case), vital_status__in=values)))


def _primary_category(values, case: str) -> Q:
    return _in_categories("primary_site__code", values)


def _age_band(values, case: str) -> Q:
    return ranges_condition("age_at_diagnosis", tuple(age_band_range(key) for key in values))


def _period(values, case: str) -> Q:
    return ranges_condition("year_of_diagnosis", tuple(period_range(text) for text in values))


def _search(term, case: str) -> Q:
    if case != "pk":
        raise ValueError("The q search matches case fields that only cases have.")
    return case_search(term)


_AGE_ADVICE = "Analysts select ages by age_band (e.g. age_band=50-59)."
_YEAR_ADVICE = "Analysts select years by period (e.g. period=2015-2019 or period=2019)."
ONE, GROUPING, CURATORS = AnalystUse.ONE_VALUE, AnalystUse.GROUPING, AnalystUse.CURATORS


FILTERS: tuple[CaseFilter, ...] = (
    CaseFilter(
        "site",
        "Metastatic site code(s), e.g. C44.4",
        ONE,
        lesion=lambda values: Q(site_id__in=values),
    ),
    CaseFilter(
        "site_category",
        "Metastatic site category(ies), e.g. C44",
        GROUPING,
        lesion=lambda values: _in_categories("site__code", values),
    ),
    CaseFilter(
        "site_group",
        "Metastatic site group(s), e.g. Skin",
        GROUPING,
        lesion=lambda values: Q(site__site_group__in=values),
    ),
    CaseFilter("primary", "Primary site code(s), e.g. C50.9", ONE, _among("primary_site_id")),
    CaseFilter(
        "primary_category", "Primary site category(ies), e.g. C50", GROUPING, _primary_category
    ),
    CaseFilter(
        "morphology",
        "Primary morphology code(s), e.g. 8500/3",
        ONE,
        _among("primary_morphology_id"),
    ),
    CaseFilter(
        "subtype",
        "Subtype code(s), e.g. triple_negative",
        ONE,
        _among("subtype_id"),
        vocabulary=Subtype,
    ),
    CaseFilter("sex", "", ONE, _among("sex"), choices=tuple(Sex.values)),
    CaseFilter(
        "age_min",
        "Youngest age at diagnosis (inclusive)",
        CURATORS,
        _bound("age_at_diagnosis__gte"),
        kind=Kind.AGE,
        advice=_AGE_ADVICE,
    ),
    CaseFilter(
        "age_max",
        f"Oldest age at diagnosis (inclusive); {MAX_AGE} means {MAX_AGE} or over",
        CURATORS,
        _bound("age_at_diagnosis__lte"),
        kind=Kind.AGE,
        advice=_AGE_ADVICE,
    ),
    CaseFilter(
        "year_min",
        "First year of primary diagnosis (inclusive)",
        CURATORS,
        _bound("year_of_diagnosis__gte"),
        kind=Kind.YEAR,
        advice=_YEAR_ADVICE,
    ),
    CaseFilter(
        "year_max",
        "Last year of primary diagnosis (inclusive)",
        CURATORS,
        _bound("year_of_diagnosis__lte"),
        kind=Kind.YEAR,
        advice=_YEAR_ADVICE,
    ),
    CaseFilter(
        "status",
        "",
        AnalystUse.VERIFIED_ONLY,
        _among("status"),
        choices=tuple(ReviewStatus.values),
        advice="Analysts count verified cases only; leave status out.",
    ),
    CaseFilter("source", "", ONE, _among("source"), choices=tuple(Source.values)),
    CaseFilter(
        "institution",
        "Institution code(s)",
        CURATORS,
        _among("institution__code"),
        advice="Counts per institution are for curators.",
    ),
    CaseFilter(
        "q",
        "Search: local id (or part of it), UUID (or its first characters), "
        "site code (C44.4) or category (C44), words of a misdiagnosis",
        CURATORS,
        _search,
        kind=Kind.SEARCH,
        advice="Searching for cases is for curators; analysts count by coded attributes.",
    ),
    CaseFilter(
        "age_band",
        "Published age band(s) at diagnosis, e.g. 50-59 or 50-69 (the way analysts select ages)",
        GROUPING,
        _age_band,
        choices=tuple(PUBLISHED_AGE_BANDS),
    ),
    CaseFilter(
        "period",
        "Year(s) of primary diagnosis or five-year period(s), e.g. 2019 or 2015-2019 "
        "(the way analysts select years)",
        GROUPING,
        _period,
    ),
    CaseFilter(
        "presentation",
        "Cases with a metastasis that presented so",
        ONE,
        _any_metastasis("presentation"),
        choices=tuple(Presentation.values),
    ),
    CaseFilter(
        "misdiagnosis",
        "Cases with a metastasis first taken for this",
        ONE,
        _any_metastasis("misdiagnosis"),
        choices=tuple(Misdiagnosis.values),
    ),
    CaseFilter(
        "modality",
        "Cases given this treatment",
        ONE,
        _any_treatment("modality"),
        choices=tuple(Modality.values),
    ),
    CaseFilter(
        "response",
        "Cases with a treatment response",
        ONE,
        _any_treatment("response"),
        choices=tuple(Response.values),
    ),
    CaseFilter("vital_status", "", ONE, _vital_status, choices=tuple(VitalStatus.values)),
)

FILTERS_BY_NAME: dict[str, CaseFilter] = {declared.name: declared for declared in FILTERS}


def filter_conditions(given: dict[str, object], case: str = "pk") -> Q:
    """The filters given (name -> validated value) as one condition on cases.

    `case` names the case's id in the model filtered: the same condition selects
    cases (`pk`) and counted metastases (`case_id`), which carry the case's
    attributes under the same names (`registry.models.counted`).
    """
    conditions, lesion = Q(), Q()
    for name, value in given.items():
        declared = FILTERS_BY_NAME[name]
        if declared.lesion is not None:
            lesion &= declared.lesion(value)
        else:
            conditions &= declared.condition(value, case)
    if lesion:
        conditions &= Q(Exists(Metastasis.objects.filter(lesion, case_id=OuterRef(case))))
    return conditions
