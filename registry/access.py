"""The access policy: who sees which cases, which statuses, which filters, which precision.

One module decides all of it, and the API, CSV, the dashboard and the admin ask
it: a rule written twice drifts, and a privacy promise that drifts is broken.

- Cases: curators see every case; a submitter sees its own institution's (an
  institution that is no longer active sees nothing); analysts see none.
- Statistics count, for analysts, verified cases only, and curators every case.
- Curators count with every filter of the case list and see exact numbers.
- Analysts query a published data dictionary, not the rows: coded attributes at
  published granularity (`ANALYST_FILTERS`), ages in the age band schemes and
  years in the periods below, no row-identifying parameter (`q`, institution,
  free age or year ranges). Everything else is refused, naming the parameter.
  Every number they see is protected by `registry.disclosure`.
"""

import datetime
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from registry.disclosure import Tally, publish
from registry.models import Case, Institution, ReviewStatus, Role, User
from registry.models.case import FIRST_YEAR, MAX_AGE

# ---------------------------------------------------------------- the data dictionary

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

# Filters an analyst may use; the others are the curators'.
ANALYST_FILTERS = frozenset(
    {
        "site",
        "site_category",
        "site_group",
        "primary",
        "primary_category",
        "morphology",
        "subtype",
        "sex",
        "source",
        "age_band",
        "period",
        "status",  # verified only: what analysts count anyway
        "presentation",
        "misdiagnosis",
        "modality",
        "response",
        "vital_status",
        "diagnostic_sequence",
    }
)
_CURATOR_FILTER_ADVICE = {
    "q": "Searching for cases is for curators; analysts count by coded attributes.",
    "institution": "Counts per institution are for curators.",
    "age_min": "Analysts select ages by age_band (e.g. age_band=50-59).",
    "age_max": "Analysts select ages by age_band (e.g. age_band=50-59).",
    "year_min": "Analysts select years by period (e.g. period=2015-2019 or period=2019).",
    "year_max": "Analysts select years by period (e.g. period=2015-2019 or period=2019).",
}


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


# ---------------------------------------------------------------- cases


def visible_cases(user: User) -> QuerySet[Case]:
    """Deny by default: curators see every case, submitters their institution's, others none."""
    if user.is_curator:
        return Case.objects.all()
    if user.role == Role.SUBMITTER and user.institution_id is not None:
        return Case.objects.filter(institution_id=user.institution_id, institution__is_active=True)
    return Case.objects.none()


def institution_for_submission(user: User, code: str | None) -> Institution:
    """The institution a case is written for: a submitter's own; the one a curator names.

    Raises ValidationError on `institution` for a submitter naming another, a
    curator naming none, or an unknown or inactive one.
    """
    if not user.is_curator:
        if user.institution is None or not user.institution.is_active:
            raise ValidationError({"institution": "Your institution may not submit cases."})
        if code is not None and code != user.institution.code:
            raise ValidationError({"institution": "You can submit only for your institution."})
        return user.institution
    if code is None:
        raise ValidationError({"institution": "Curators name the institution of the case."})
    institution = Institution.objects.filter(code=code, is_active=True).first()
    if institution is None:
        raise ValidationError({"institution": f"Unknown or inactive institution '{code}'."})
    return institution


# ---------------------------------------------------------------- statistics


def counted_by(user: User) -> Q:
    """Which cases feed a user's statistics: curators all; everyone else verified cases
    whose soft-edit flags a curator has confirmed (no open flag)."""
    if user.is_curator:
        return Q()
    return Q(status=ReviewStatus.VERIFIED) & without_open_flags()


def without_open_flags() -> Q:
    """Cases with no soft-edit flag awaiting a curator (`Case.has_open_flags`).

    The counted metastases copy the column under the same name, so the condition
    selects cases and counted metastases alike.
    """
    return Q(has_open_flags=False)


def can_read_statistics(user: User) -> bool:
    """Analysts and curators; not submitters, who could subtract their own cases."""
    return bool(user and user.is_authenticated and (user.is_curator or user.role == Role.ANALYST))


@dataclass(frozen=True)
class StatisticsAccess:
    """How precisely one user sees statistics."""

    exact: bool
    threshold: int
    counted_statuses: tuple[str, ...] | None  # None: every status (curators)

    def count(self, tally: Tally) -> int | None:
        """What this user sees of a count: exact, or protected (None when hidden)."""
        if self.exact:
            return tally.n
        return publish(tally.n, tally.cell_key, self.threshold)


def statistics_access(user: User) -> StatisticsAccess:
    threshold = settings.REGISTRY_MIN_CELL_COUNT
    if user.is_curator:
        return StatisticsAccess(exact=True, threshold=threshold, counted_statuses=None)
    return StatisticsAccess(
        exact=False, threshold=threshold, counted_statuses=(ReviewStatus.VERIFIED,)
    )


def check_statistics_query(
    user: User, *, parameters: dict[str, object], age_bands: tuple[int, ...] | None = None
) -> None:
    """Refuse what the user may not ask, naming each parameter (ValidationError).

    `parameters` are the filters given (name -> validated value); `age_bands` the
    lower bounds of the age bands asked for, if any.
    """
    if user.is_curator:
        return
    refused = {}
    for name, value in parameters.items():
        if name == "status":
            if set(value) != {ReviewStatus.VERIFIED}:
                refused[name] = "Analysts count verified cases only; leave status out."
        elif name not in ANALYST_FILTERS:
            refused[name] = _CURATOR_FILTER_ADVICE.get(name, "Analysts may not filter by this.")
    if age_bands is not None and age_bands not in AGE_BAND_SCHEMES.values():
        schemes = "; ".join(
            f"{name} ({','.join(map(str, bounds))})" for name, bounds in AGE_BAND_SCHEMES.items()
        )
        refused["bands"] = f"Analysts use a published age band scheme: {schemes}."
    if refused:
        raise ValidationError(refused)
