"""The access policy: who sees which cases, which statuses, which filters, which precision.

One module decides all of it, and the API, CSV, the dashboard and the admin ask
it: a rule written twice drifts, and a privacy promise that drifts is broken.

- Cases: curators see every case; a submitter sees its own institution's (an
  institution that is no longer active sees nothing); analysts see none.
- Statistics count, for analysts, verified cases only, and curators every case.
- Curators count with every filter of the case list and see exact numbers.
- Analysts query a published data dictionary, not the rows: coded attributes at
  published granularity (`ANALYST_FILTERS`, from `registry.data_dictionary`),
  one value per filter or one published grouping, never a list (a union),
  no row-identifying parameter (`q`, institution, free age or year ranges).
  Everything else is refused, naming the parameter. A query whose cases would be
  published is also refused when one filter removes too few cases from the rest of
  it (`registry.complements`: no differencing of sub-populations).
  Every number they see is protected by `registry.disclosure`.
"""

import dataclasses
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from registry.complements import DifferencingRefused, check_complements  # noqa: F401
from registry.data_dictionary import (  # noqa: F401  (the data dictionary's names, kept here)
    AGE_BAND_SCHEMES,
    DEFAULT_AGE_BAND_SCHEME,
    FILTERS,
    FILTERS_BY_NAME,
    PERIOD_YEARS,
    PUBLISHED_AGE_BANDS,
    AnalystUse,
    age_band_keys,
    age_band_range,
    period_of,
    period_range,
    published_periods,
    ranges_condition,
)
from registry.disclosure import Tally, publish
from registry.models import Case, Institution, Release, ReviewStatus, Role, User

# ---------------------------------------------------------------- the data dictionary

# What analysts may filter by, derived from the one declaration of each filter.
ANALYST_FILTERS = frozenset(
    declared.name for declared in FILTERS if declared.analysts is not AnalystUse.CURATORS
)
_LIST_ADVICE = (
    "Analysts give one value: a list is a union, and a union minus its padding is a hidden count."
)
_GROUPING_ADVICE = (
    " For a wider selection use one published grouping: site_category or site_group, "
    "primary_category, a broad age band (age_band=50-69) or a period (period=2015-2019)."
)


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


# ---------------------------------------------------------------- the literature atlas


def can_read_atlas(user: User | None) -> bool:
    """Published case reports: analysts and curators; anyone only where the registry says so
    (`REGISTRY_ATLAS_PUBLIC`, default off). Hospital cases are never in the atlas."""
    if settings.REGISTRY_ATLAS_PUBLIC:
        return True
    return bool(user and user.is_authenticated and (user.is_curator or user.role == Role.ANALYST))


def similar_registry_cases_allowed(user: User) -> bool:
    """Curators see registry (hospital) cases among similar cases; everyone else a profile."""
    return bool(user and user.is_authenticated and user.is_curator)


# ---------------------------------------------------------------- statistics


def counted_by(user: User) -> Q:
    """Which cases feed a user's statistics: curators all; everyone else verified cases
    whose soft-edit flags a curator has confirmed (no open flag). For everyone, a
    person reported twice counts once."""
    if user.is_curator:
        return one_case_per_person()
    return counted_by_analysts()


def counted_by_analysts() -> Q:
    """Verified cases with no open flag, each person once: what analysts and releases count."""
    return Q(status=ReviewStatus.VERIFIED) & without_open_flags() & one_case_per_person()


def one_case_per_person() -> Q:
    """Leave out the cases of a person counted through another case (`Case.linked_duplicate`,
    set by `registry.linkage.persons`); the counted metastases copy the column too."""
    return Q(linked_duplicate=False)


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
    """Refuse what the user may not ask, naming each parameter (ValidationError), and a
    published query one of whose filters removes too few cases (DifferencingRefused).

    `parameters` are the filters given (name -> validated value); `age_bands` the
    lower bounds of the age bands asked for, if any.
    """
    if user.is_curator:
        return
    refused = {}
    for name, value in parameters.items():
        declared = FILTERS_BY_NAME[name]
        if declared.analysts is AnalystUse.CURATORS:
            refused[name] = declared.advice or "Analysts may not filter by this."
        elif declared.analysts is AnalystUse.VERIFIED_ONLY:
            if set(value) != {ReviewStatus.VERIFIED}:
                refused[name] = declared.advice
        elif len(value) > 1:  # one value, or one published grouping
            refused[name] = _LIST_ADVICE + (
                _GROUPING_ADVICE if declared.analysts is AnalystUse.ONE_VALUE else ""
            )
    if age_bands is not None and age_bands not in AGE_BAND_SCHEMES.values():
        schemes = "; ".join(
            f"{name} ({','.join(map(str, bounds))})" for name, bounds in AGE_BAND_SCHEMES.items()
        )
        refused["bands"] = f"Analysts use a published age band scheme: {schemes}."
    if refused:
        raise ValidationError(refused)
    # Only a query the analyst may ask is counted: its populations, in one statement.
    counted = Case.objects.filter(counted_by(user))
    check_complements(counted, parameters, settings.REGISTRY_MIN_CELL_COUNT)


# ---------------------------------------------------------------- releases


class ReleaseRetired(Exception):
    """A retired release was asked for: its answers are gone (410), its successor named."""

    def __init__(self, release: Release):
        super().__init__(
            f"Release {release.name} was retired on {release.retired_at:%Y-%m-%d}; "
            f"count release {release.successor.name} instead."
        )
        self.release = release


def counted_release(user: User, name: str | None) -> Release | None:
    """Which release a user's statistics count; None: the live data.

    Analysts count the newest release unless they name another, so their figures
    are reproducible and a case added since cannot be learnt by asking twice;
    before the first release exists they count the live verified cases (nothing
    has been published to reproduce yet; docs/statistics.md, "Releases").
    Curators count the live data unless they name a release.
    """
    if name is None:
        return None if user.is_curator else Release.objects.latest_available()
    release = Release.objects.filter(name=name).select_related("successor").first()
    if release is None:
        raise ValidationError({"release": f"No release named {name!r}; GET /api/v1/releases/."})
    if release.retired:
        raise ReleaseRetired(release)
    return release


def counting_release(policy: StatisticsAccess) -> StatisticsAccess:
    """The same precision, counting a release: its cases are the verified ones, unflagged."""
    return dataclasses.replace(policy, counted_statuses=(ReviewStatus.VERIFIED,))


def release_changes(user: User, release: Release) -> dict | None:
    """A release's notes as this user may read them: exact for curators, protected for
    analysts, and None for everyone else.

    A release's record is public (a citation's URL must open), but its notes are
    counts: a hospital system could subtract its own cases from them, so they are
    for those who may read statistics, as every other count is.
    """
    if not can_read_statistics(user):
        return None
    policy = statistics_access(user)

    def seen(pair: list[int]) -> int | None:
        return policy.count(Tally(*pair))

    return {
        kind: {
            "total": seen(found["total"]),
            "site_groups": {group: seen(pair) for group, pair in found["site_groups"].items()},
        }
        for kind, found in release.changes.items()
    }
