"""Curators' decisions on candidate pairs, and which case of a person is counted.

Confirmed pairs join cases into persons (the connected components of the
confirmed links). Of each person one case is counted: the first, by id, of
those an analyst's statistics count (verified, no open soft-edit flag), or the
first by id when none is. The others get `Case.linked_duplicate`, which every
statistic leaves out (`registry.access.one_case_per_person`), so a person
counts once by every route. The choice is made again whenever a link is decided
and whenever a member's review status or flags change (`recount_person`).
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from registry.deidentification import find_identifiers, identifier_message
from registry.models import Case, LinkCandidate, LinkStatus, ReviewStatus, User


def person_of(case_id: int) -> set[int]:
    """The ids of the cases confirmed to be the same person as `case_id` (itself included)."""
    person, frontier = {case_id}, {case_id}
    while frontier:
        links = LinkCandidate.objects.filter(
            Q(case_a_id__in=frontier) | Q(case_b_id__in=frontier), status=LinkStatus.CONFIRMED
        ).values_list("case_a_id", "case_b_id")
        reached = {case for pair in links for case in pair} - person
        person |= reached
        frontier = reached
    return person


def _counted_first(cases: list[Case]) -> Case:
    countable = [
        case for case in cases if case.status == ReviewStatus.VERIFIED and not case.has_open_flags
    ]
    return min(countable or cases, key=lambda case: case.pk)


def recount_person(case_id: int) -> int:
    """Choose again which case of `case_id`'s person counts; the id of that case."""
    members = list(
        Case.objects.select_for_update()
        .filter(pk__in=person_of(case_id))
        .only("pk", "status", "has_open_flags", "linked_duplicate")
    )
    counted = _counted_first(members)
    others = [case.pk for case in members if case.pk != counted.pk]
    # Only rows that change are written: the counted metastases' triggers copy each change.
    Case.objects.filter(pk=counted.pk, linked_duplicate=True).update(linked_duplicate=False)
    Case.objects.filter(pk__in=others, linked_duplicate=False).update(linked_duplicate=True)
    return counted.pk


@transaction.atomic
def link_decide(
    *, candidate: LinkCandidate, status: str, reason: str, actor: User
) -> LinkCandidate:
    """A curator confirms (same patient) or rejects (different patients) a candidate pair.

    A decision may be changed by deciding again; every decision records who, when
    and why, and each person touched is recounted.
    """
    if actor is None or not actor.is_curator:
        raise PermissionDenied("Only curators decide whether two cases are one patient.")
    if status not in (LinkStatus.CONFIRMED, LinkStatus.REJECTED):
        raise ValidationError({"status": ["Confirm or reject the pair."]})
    reason = (reason or "").strip()
    kinds = find_identifiers(reason)
    if kinds:
        raise ValidationError({"reason": [identifier_message(kinds)]})
    stored = LinkCandidate.objects.select_for_update().get(pk=candidate.pk)
    stored.status = status
    stored.review_reason = reason
    stored.reviewed_by = actor
    stored.reviewed_at = timezone.now()
    stored.save(update_fields=["status", "review_reason", "reviewed_by", "reviewed_at"])
    # A rejection may split a person in two: recount both sides.
    recount_person(stored.case_a_id)
    recount_person(stored.case_b_id)
    return stored
