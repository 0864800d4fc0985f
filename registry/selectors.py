"""Reads: which cases a user may see, filtered as analysts and integrators ask.

The case list and the statistics take the same filters through
`CaseFilters`, so a count always matches the list it summarises.
"""

import dataclasses
from dataclasses import dataclass

from django.db import router
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from registry.access import (
    age_band_range,
    counted_by,
    period_range,
    ranges_condition,
    visible_cases,
)
from registry.case_search import case_search
from registry.models import Case, CaseFlag, CountedMetastasis, Metastasis, Treatment, User


@dataclass(frozen=True)
class CaseFilters:
    """Case filters; None means "any". Codes are ICD-O-3 or subtype codes.

    What a client may give, and how it is checked, is `registry.case_filters`.
    """

    site: tuple[str, ...] | None = None
    site_category: tuple[str, ...] | None = None
    site_group: tuple[str, ...] | None = None
    primary: tuple[str, ...] | None = None
    primary_category: tuple[str, ...] | None = None
    morphology: tuple[str, ...] | None = None
    subtype: tuple[str, ...] | None = None
    sex: tuple[str, ...] | None = None
    age_min: int | None = None
    age_max: int | None = None
    year_min: int | None = None
    year_max: int | None = None
    status: tuple[str, ...] | None = None
    source: tuple[str, ...] | None = None
    institution: tuple[str, ...] | None = None
    q: str | None = None
    age_band: tuple[str, ...] | None = None  # published bands (registry.access), e.g. 50-59
    period: tuple[str, ...] | None = None  # single years or five-year periods, e.g. 2015-2019
    # What the registry records of a metastasis (any of the case's), a treatment, the outcome.
    presentation: tuple[str, ...] | None = None
    misdiagnosis: tuple[str, ...] | None = None
    modality: tuple[str, ...] | None = None
    response: tuple[str, ...] | None = None
    vital_status: tuple[str, ...] | None = None
    diagnostic_sequence: tuple[str, ...] | None = None  # what was found first


def given_filters(filters: CaseFilters) -> dict[str, object]:
    """The filters set (name -> value), for the access policy to check."""
    return {
        field.name: value
        for field in dataclasses.fields(filters)
        if (value := getattr(filters, field.name)) is not None
    }


def counted_cases(user: User) -> QuerySet[Case]:
    """Cases that feed a user's statistics (`registry.access.counted_by`)."""
    return Case.objects.filter(counted_by(user))


def filter_cases(cases: QuerySet[Case], filters: CaseFilters) -> QuerySet[Case]:
    """Apply the filters; metastasis filters use EXISTS so a case appears once."""
    return cases.filter(case_conditions(filters))


def case_conditions(filters: CaseFilters, case: str = "pk") -> Q:
    """The filters as one condition on case attributes.

    `case` names the case's id in the model filtered: the same condition selects
    cases (`pk`) and counted metastases (`case_id`), which carry the case's
    attributes under the same names (`registry.models.counted`).
    """
    f = filters
    conditions = Q()
    metastasis_match = Q()
    if f.site:
        metastasis_match &= Q(site_id__in=f.site)
    if f.site_category:
        metastasis_match &= _in_categories("site__code", f.site_category)
    if f.site_group:
        metastasis_match &= Q(site__site_group__in=f.site_group)
    if metastasis_match:
        conditions &= Q(Exists(Metastasis.objects.filter(metastasis_match, case_id=OuterRef(case))))
    # Each clinical filter is its own EXISTS: presentation=nodule&site=C44.4 selects cases
    # with a nodule and a scalp metastasis, not necessarily the same one.
    for name in ("presentation", "misdiagnosis"):
        if getattr(f, name):
            lesions = Metastasis.objects.filter(**{f"{name}__in": getattr(f, name)})
            conditions &= Q(Exists(lesions.filter(case_id=OuterRef(case))))
    for name in ("modality", "response"):
        if getattr(f, name):
            treatments = Treatment.objects.filter(**{f"{name}__in": getattr(f, name)})
            conditions &= Q(Exists(treatments.filter(case_id=OuterRef(case))))
    for name in ("vital_status", "diagnostic_sequence"):
        if not getattr(f, name):
            continue
        if case == "pk":
            conditions &= Q(**{f"{name}__in": getattr(f, name)})
        else:  # the counted metastases do not copy these case fields
            matching = Case.objects.filter(pk=OuterRef(case), **{f"{name}__in": getattr(f, name)})
            conditions &= Q(Exists(matching))
    if f.primary_category:
        conditions &= _in_categories("primary_site__code", f.primary_category)
    exact = {
        "primary_site_id__in": f.primary,
        "primary_morphology_id__in": f.morphology,
        "subtype_id__in": f.subtype,
        "sex__in": f.sex,
        "age_at_diagnosis__gte": f.age_min,
        "age_at_diagnosis__lte": f.age_max,
        "year_of_diagnosis__gte": f.year_min,
        "year_of_diagnosis__lte": f.year_max,
        "status__in": f.status,
        "source__in": f.source,
        "institution__code__in": f.institution,
    }
    conditions &= Q(**{lookup: value for lookup, value in exact.items() if value is not None})
    if f.age_band:
        bands = tuple(age_band_range(key) for key in f.age_band)
        conditions &= ranges_condition("age_at_diagnosis", bands)
    if f.period:
        periods = tuple(period_range(text) for text in f.period)
        conditions &= ranges_condition("year_of_diagnosis", periods)
    if f.q:
        if case != "pk":
            raise ValueError("The q search matches case fields that only cases have.")
        conditions &= case_search(f.q)
    return conditions


@dataclass(frozen=True)
class CountedSelection:
    """What a statistic counts: the cases a user may count, under the filters."""

    user: User
    filters: CaseFilters

    def cases(self) -> QuerySet[Case]:
        return filter_cases(counted_cases(self.user), self.filters)

    def counted_metastases(self) -> QuerySet[CountedMetastasis]:
        """The metastases of the same cases, from the table made for counting them.

        Only where that table serves, which `registry.stats.counting` alone decides:
        PostgreSQL has it, SQLite not, and it cannot take the `q` search.
        """
        return CountedMetastasis.objects.using(router.db_for_read(CountedMetastasis)).filter(
            counted_by(self.user), case_conditions(self.filters, case="case_id")
        )


def _in_categories(code_field: str, categories: tuple[str, ...]) -> Q:
    """Codes in 3-character categories (C50 -> C50.x), matched on the code itself.

    A category is the first three characters of its codes, so a prefix match on the
    indexed code column does without a join to the topography table.
    """
    match = Q()
    for category in categories:
        match |= Q(**{f"{code_field}__startswith": f"{category}."})
    return match


def case_list(*, user: User, filters: CaseFilters) -> QuerySet[Case]:
    """The cases a user may read, filtered, with everything a page shows pre-loaded."""
    return with_case_details(filter_cases(visible_cases(user), filters))


def with_case_details(cases: QuerySet[Case]) -> QuerySet[Case]:
    """Loads a page of cases in a fixed number of queries, whatever its size."""
    return cases.select_related(
        "institution", "primary_site", "primary_morphology", "subtype"
    ).prefetch_related(
        Prefetch("metastases", Metastasis.objects.select_related("site", "morphology")),
        Prefetch("treatments", Treatment.objects.all()),
        Prefetch("flags", CaseFlag.objects.select_related("confirmed_by")),
    )
