"""The query-set rule on complements: no differencing of sub-populations.

Why: the same cases give the same published number (`registry.disclosure`), so
an analyst who asks a table for a published population P and for P ∩ F, where
F removes one patient p, sees identical numbers in every row that does not hold
p, and a different number in the row that does: p's attribute. Noise that is a
function of the case set cannot hide a difference of sets; what can is never
answering both halves of a difference that small. So, like the statistical
offices' "no differencing of sub-populations" rule, a query whose cases C would
be published is refused when one of its filters f removes too few cases from
the rest of the query: the complement P ∖ C, where P is the query without f, or
with f widened to the published grouping above it (a site code to its category
and group, a primary code to its category, a decade to its broad age band, a
year to its five-year period), has fewer cases than the threshold plus the
keyed jitter of that complement (the same `publish` that hides a count).

- A complement of 0 is refused like 1 to the threshold - 1: answering it would
  tell "nobody" from "somebody" (empty against small), which is the attack.
  Except where the dictionary itself makes it empty (a structural zero): a
  filter implied by another through the code hierarchy (`site_category=C44`
  beside `site=C44.4`, `primary_category=C50` beside `subtype=triple_negative`)
  or widened to a grouping with no other code (C73.9 is all of C73). That is
  decided from the vocabulary, never from the counts, so it tells nothing.
- A query whose cases are hidden anyway is answered (everything hidden) without
  the check, so that "refused" against "all hidden" is no new oracle.
- All the populations are counted in one SQL statement: each filter condition
  is a boolean column of the counted cases, and `count(*) FILTER (WHERE ...)`
  per population, over the rows in at least one of them.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connections
from django.db.models import BooleanField, ExpressionWrapper, F, Q, QuerySet

from registry.data_dictionary import AGE_BAND_SCHEMES, FILTERS_BY_NAME, age_band_keys, period_of
from registry.disclosure import Tally, publish
from registry.models import Case, Metastasis, Subtype, Topography

# The filters whose values are topography codes, and the ones above each (its groupings).
SITE_FILTERS = ("site", "site_category", "site_group")
PRIMARY_FILTERS = ("primary", "primary_category")
_WIDER = {"site": ("site_category", "site_group"), "site_category": ("site_group",)}
_WIDER |= {"primary": ("primary_category",)}

# Where each filter's value stands in a row of `_CodeSets.rows`.
_COLUMN = {"site": 0, "primary": 0, "site_category": 1, "primary_category": 1, "site_group": 2}

# A filter and its values, as `registry.selectors.given_filters` gives them.
Given = dict[str, tuple]


class DifferencingRefused(Exception):
    """A filter removes too few cases from the rest of the query to be shown; per filter, why."""

    def __init__(self, refused: dict[str, str]):
        self.refused = refused
        super().__init__("; ".join(f"{name}: {why}" for name, why in refused.items()))


@dataclass(frozen=True)
class Population:
    """A population to compare the query with: the query with one filter left out or widened."""

    filter: str  # the filter left out or widened
    given: Given
    widened_to: str = ""  # "site_category=C44": what the filter was widened to; "": left out


def check_complements(counted: QuerySet[Case], given: Given, threshold: int) -> None:
    """Refuse (DifferencingRefused) a published query that one filter barely narrows.

    `counted` are the cases the analyst counts, `given` the query's filters.
    """
    given = {name: value for name, value in given.items() if name != "status"}  # always vacuous
    if not given:
        return
    populations = list(_populations(given))
    query, *tallies = _count(counted, [given, *(p.given for p in populations)])
    if publish(query.n, query.cell_key, threshold) is None:
        return  # hidden anyway: answered as every hidden query is
    refused: dict[str, str] = {}
    for population, tally in zip(populations, tallies, strict=True):
        rest = Tally(tally.n - query.n, tally.key_sum - query.key_sum)
        if publish(rest.n, rest.cell_key, threshold) is None and population.filter not in refused:
            refused[population.filter] = _reason(population)
    if refused:
        raise DifferencingRefused(refused)


def _reason(population: Population) -> str:
    against = (
        f"widened to {population.widened_to}" if population.widened_to else "without this filter"
    )
    return (
        f"This filter removes too few cases from the rest of the query ({against}) to be "
        "shown: the difference of the two answers would describe those few patients. "
        "Leave it out, or ask a table by this dimension instead."
    )


# ---------------------------------------------------------------- the populations


def _populations(given: Given) -> Iterable[Population]:
    """The query with each filter left out and widened, less the ones equal to it by definition."""
    codes = _CodeSets(given)
    for name, value in given.items():
        rest = {other: v for other, v in given.items() if other != name}
        if not codes.same_cases(given, rest):
            yield Population(name, rest)
        for wider, wider_value in _widenings(name, value, codes):
            widened = {**rest}
            widened.setdefault(wider, wider_value)
            if not codes.same_cases(given, widened):
                yield Population(name, widened, f"{wider}={','.join(wider_value)}")


def _widenings(name: str, value: tuple, codes: "_CodeSets") -> Iterable[tuple[str, tuple]]:
    """The published groupings just above a filter's value: (filter, value)."""
    if name in _WIDER:
        for wider in _WIDER[name]:
            yield from ((wider, (parent,)) for parent in codes.parents(name, value, wider))
    elif name == "age_band":
        yield from (("age_band", (wider,)) for wider in _wider_bands(value[0]))
    elif name == "period" and "-" not in value[0]:
        yield "period", (period_of(int(value[0])),)


def _wider_bands(key: str) -> list[str]:
    """The bands of other published schemes that hold this band and more (50-59 -> 50-69)."""
    bands = [band for scheme in AGE_BAND_SCHEMES.values() for band in age_band_keys(scheme)]
    (low, high) = next((lo, hi) for band, lo, hi in bands if band == key)
    return [band for band, lo, hi in bands if lo <= low and high <= hi and (lo, hi) != (low, high)]


class _CodeSets:
    """Which topography codes the site and primary filters allow, from the vocabulary.

    Two queries that differ only in filters on one hierarchy select the same cases by
    definition when they allow the same codes: a structural zero, not a small one.
    Read once per query, and only when it has such a filter.
    """

    def __init__(self, given: Given):
        self.rows: list[tuple[str, str, str, str]] = []
        if any(name in given for name in (*SITE_FILTERS, *PRIMARY_FILTERS, "subtype")):
            self.rows = list(
                Topography.objects.values_list("code", "category", "site_group", "subtype_family")
            )
        self.families: dict[str, str] = {}
        if "subtype" in given:
            self.families = dict(Subtype.objects.values_list("code", "family"))

    def members(self, name: str, values: tuple) -> frozenset[str]:
        return frozenset(row[0] for row in self.rows if row[_COLUMN[name]] in values)

    def parents(self, name: str, values: tuple, wider: str) -> list[str]:
        """The values of `wider` that hold the codes of `name`=`values` (C44.4 -> C44, Skin)."""
        own, above = _COLUMN[name], _COLUMN[wider]
        return sorted({row[above] for row in self.rows if row[own] in values})

    def _allowed(self, given: Given, names: tuple[str, ...]) -> frozenset[str] | None:
        allowed = None
        for name in names:
            if name in given:
                members = self.members(name, given[name])
                allowed = members if allowed is None else allowed & members
        if names is PRIMARY_FILTERS and "subtype" in given:
            families = {self.families.get(code) for code in given["subtype"]}
            members = frozenset(row[0] for row in self.rows if row[3] and row[3] in families)
            allowed = members if allowed is None else allowed & members
        return allowed

    def same_cases(self, given: Given, other: Given) -> bool:
        """Whether `other` selects the same cases as `given` by the dictionary alone."""
        hierarchies = (SITE_FILTERS, PRIMARY_FILTERS)
        rest = set(given) | set(other)
        for names in hierarchies:
            rest -= set(names)
        if any(given.get(name) != other.get(name) for name in rest):
            return False
        return all(
            self._allowed(given, names) == self._allowed(other, names) for names in hierarchies
        )


# ---------------------------------------------------------------- one statement


def _count(counted: QuerySet[Case], queries: list[Given]) -> list[Tally]:
    """The cases (and key sums) of each query, in one statement over the counted cases.

    Each distinct condition is one boolean column of the counted cases; each query
    one `count(*) FILTER (WHERE ...)` and `sum(record_key) FILTER (WHERE ...)`
    over the rows that satisfy at least one query.
    """
    atoms: dict[tuple, Q] = {}
    per_query: list[list[str]] = []
    for given in queries:
        names = []
        for key, condition in _atoms(given):
            atoms.setdefault(key, condition)
            names.append(f"a{list(atoms).index(key)}")
        per_query.append(names)
    columns = {
        f"a{index}": ExpressionWrapper(condition, output_field=BooleanField())
        for index, condition in enumerate(atoms.values())
    }
    inner = counted.order_by().values(rk=F("record_key"), **columns)
    sql, params = inner.query.sql_with_params()
    wheres = [" AND ".join(names) or "TRUE" for names in per_query]
    selected = ", ".join(
        f"COUNT(*) FILTER (WHERE {where}), SUM(rk) FILTER (WHERE {where})" for where in wheres
    )
    statement = (
        f"SELECT {selected} FROM ({sql}) AS counted WHERE {' OR '.join(f'({w})' for w in wheres)}"
    )
    with connections[counted.db].cursor() as cursor:
        cursor.execute(statement, params)
        found = cursor.fetchone()
    return [
        Tally(int(found[2 * index] or 0), int(found[2 * index + 1] or 0))
        for index in range(len(queries))
    ]


def _atoms(given: Given) -> Iterable[tuple[tuple, Q]]:
    """The query's conditions, one per filter, the site filters together (one metastasis)."""
    lesion = {name: value for name, value in given.items() if FILTERS_BY_NAME[name].lesion}
    for name, value in given.items():
        if name not in lesion:
            yield (name, value), FILTERS_BY_NAME[name].condition(value, "pk")
    if lesion:
        condition = Q()
        for name, value in lesion.items():
            condition &= FILTERS_BY_NAME[name].lesion(value)
        key = ("lesion", tuple(sorted(lesion.items())))
        # Uncorrelated, so that PostgreSQL hashes the cases with such a lesion once
        # rather than probing the metastases for every counted case.
        yield key, Q(pk__in=Metastasis.objects.filter(condition).values("case_id"))
