"""Reads: which cases a user may see, filtered as analysts and integrators ask.

The case list and the statistics take the same filters through
`CaseFilters`, so a count always matches the list it summarises.
"""

import dataclasses
from dataclasses import dataclass

from django.db import router
from django.db.models import Prefetch, Q, QuerySet

from registry import data_dictionary
from registry.access import counted_by, visible_cases
from registry.models import Case, CaseFlag, CountedMetastasis, Metastasis, Treatment, User


def _filter_type(declared: data_dictionary.CaseFilter) -> object:
    if declared.kind is data_dictionary.Kind.CODES:
        return tuple[str, ...] | None
    if declared.kind is data_dictionary.Kind.SEARCH:
        return str | None
    return int | None


# Case filters; None means "any". One field per filter of `registry.data_dictionary`,
# which says what each accepts and selects (`registry.case_filters` checks the values).
CaseFilters = dataclasses.make_dataclass(
    "CaseFilters",
    [
        (declared.name, _filter_type(declared), dataclasses.field(default=None))
        for declared in data_dictionary.FILTERS
    ],
    frozen=True,
)
CaseFilters.__module__ = __name__


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
    """The filters as one condition on case attributes (`data_dictionary.filter_conditions`).

    `case` names the case's id in the model filtered: `pk` for cases, `case_id` for
    the counted metastases.
    """
    return data_dictionary.filter_conditions(given_filters(filters), case)


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
