"""Reads: which cases a user may see, filtered as analysts and integrators ask.

The case list and the statistics take the same filters through
`CaseFilters`, so a count always matches the list it summarises.
"""

import contextlib
import uuid
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from registry.models import Case, Metastasis, ReviewStatus, Role, Treatment, User


@dataclass(frozen=True)
class CaseFilters:
    """Case filters; None means "any". Codes are ICD-O-3 or subtype codes."""

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


def visible_cases(user: User) -> QuerySet[Case]:
    """Deny by default: curators see every case, submitters their institution's, others none."""
    if user.is_curator:
        return Case.objects.all()
    if user.role == Role.SUBMITTER and user.institution_id is not None:
        return Case.objects.filter(institution_id=user.institution_id)
    return Case.objects.none()


def counted_cases(user: User) -> QuerySet[Case]:
    """Cases that feed statistics: curators all, everyone else verified cases only."""
    if user.is_curator:
        return Case.objects.all()
    return Case.objects.filter(status=ReviewStatus.VERIFIED)


def filter_cases(cases: QuerySet[Case], filters: CaseFilters) -> QuerySet[Case]:
    """Apply the filters; metastasis filters use EXISTS so a case appears once."""
    f = filters
    metastasis_match = Q()
    if f.site:
        metastasis_match &= Q(site_id__in=f.site)
    if f.site_category:
        metastasis_match &= _in_categories("site__code", f.site_category)
    if f.site_group:
        metastasis_match &= Q(site__site_group__in=f.site_group)
    if metastasis_match:
        cases = cases.filter(
            Exists(Metastasis.objects.filter(metastasis_match, case_id=OuterRef("pk")))
        )
    if f.primary_category:
        cases = cases.filter(_in_categories("primary_site__code", f.primary_category))
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
    cases = cases.filter(**{lookup: value for lookup, value in exact.items() if value is not None})
    if f.q:
        cases = cases.filter(_search(f.q))
    return cases


def _in_categories(code_field: str, categories: tuple[str, ...]) -> Q:
    """Codes in 3-character categories (C50 -> C50.x), matched on the code itself.

    A category is the first three characters of its codes, so a prefix match on the
    indexed code column does without a join to the topography table.
    """
    match = Q()
    for category in categories:
        match |= Q(**{f"{code_field}__startswith": f"{category}."})
    return match


def _search(text: str) -> Q:
    """Local id or text fragment, an exact site code (primary or metastatic), or a UUID."""
    text = text.strip()
    code = text.upper()  # codes are stored upper-case: c44.4 finds C44.4
    match = Q(local_id__icontains=text) | Q(primary_site_id=code)
    match |= Q(Exists(Metastasis.objects.filter(case_id=OuterRef("pk"), site_id=code)))
    match |= Q(
        Exists(Metastasis.objects.filter(case_id=OuterRef("pk"), misdiagnosis_text__icontains=text))
    )
    with contextlib.suppress(ValueError):
        match |= Q(uuid=uuid.UUID(text))
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
    )
