"""Writing cases: create, replace, update, review and delete, each all or nothing.

Every path runs the same derivations and validation edits, keeps the audit
history (who, when, what) and raises the version used for ETags.
"""

import enum
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from simple_history.utils import bulk_create_with_history

from registry.edits import check_case, derive_case_values
from registry.models import Case, Institution, Metastasis, ReviewStatus, Treatment, User
from registry.services.case_payload import CodedPayload, build_case, case_payload
from registry.vocabularies import current_vocabularies


class Outcome(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class CaseWrite:
    case: Case
    outcome: Outcome


class StaleVersion(Exception):
    """The client's copy of the case is older than the stored one (HTTP 412)."""

    def __init__(self, current_version: int):
        super().__init__(f"The case is at version {current_version}.")
        self.current_version = current_version


# ---------------------------------------------------------------- create and replace


@transaction.atomic
def case_create(
    *, institution: Institution, local_id: str, payload: CodedPayload, actor: User | None
) -> Case:
    """A new case; ValidationError if invalid or if `local_id` is taken."""
    case = Case(institution=institution, local_id=local_id)
    _prepare(case, payload)
    try:
        with transaction.atomic():
            _save(case, payload, actor)
    except IntegrityError as clash:
        if Case.objects.filter(institution=institution, local_id=local_id).exists():
            raise ValidationError(
                {"local_id": [f"Your institution already has a case '{local_id}'."]}
            ) from clash
        raise
    return case


@transaction.atomic
def case_update(
    *,
    case: Case,
    payload: CodedPayload,
    actor: User | None,
    partial: bool = False,
    expected_version: int | None = None,
) -> CaseWrite:
    """Replace (or, with `partial`, patch) a stored case; UNCHANGED writes nothing."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    if expected_version is not None and expected_version != case.version:
        raise StaleVersion(case.version)
    before = case_payload(case)
    if partial:
        payload = {**before, **payload}
    _prepare(case, payload)
    if case_payload(case, *_children(case)) == before:
        case.refresh_from_db()
        return CaseWrite(case, Outcome.UNCHANGED)
    if actor is None or not actor.is_curator:
        # New content needs a new review, whatever the case's status was.
        case.status = ReviewStatus.SUBMITTED
        case.rejection_reason = ""
    case.version += 1
    case.metastases.all().delete()
    _save(case, payload, actor)
    return CaseWrite(case, Outcome.UPDATED)


# ---------------------------------------------------------------- review and delete


@transaction.atomic
def case_review(*, case: Case, status: str, reason: str = "", actor: User | None) -> Case:
    """Move a case through review: submitted → in_review → verified | rejected."""
    if status not in ReviewStatus.values:
        raise ValidationError({"status": [f"Unknown review status '{status}'."]})
    if status == ReviewStatus.REJECTED and not reason.strip():
        raise ValidationError({"rejection_reason": ["A rejection needs a reason."]})
    case.status = status
    case.rejection_reason = reason.strip() if status == ReviewStatus.REJECTED else ""
    case.version += 1
    case._history_user = actor
    case.save(update_fields=["status", "rejection_reason", "version", "updated_at"])
    return case


@transaction.atomic
def case_delete(*, case: Case, actor: User | None) -> None:
    """Delete a case; its history keeps who deleted it and what it held."""
    case._history_user = actor
    for child in [*case.treatments.all(), *case.metastases.all()]:
        child._history_user = actor
    case.delete()


# ---------------------------------------------------------------- shared steps


def _prepare(case: Case, payload: CodedPayload) -> None:
    """Build, derive and validate; raises ValidationError with every problem."""
    vocab = current_vocabularies()
    _, metastases, treatments = build_case(payload, case)
    derive_case_values(case, vocab)
    check_case(case, metastases, treatments, vocab)
    case._pending_children = (metastases, treatments)


def _children(case: Case) -> tuple[list[Metastasis], list[Treatment]]:
    return case._pending_children


def _save(case: Case, payload: CodedPayload, actor: User | None) -> None:
    metastases, treatments = _children(case)
    case._history_user = actor
    case.save()
    for metastasis in metastases:
        metastasis.case = case
    bulk_create_with_history(metastases, Metastasis, default_user=actor)
    for treatment in treatments:
        treatment.case = case
        if treatment.metastasis is not None:
            treatment.metastasis_id = treatment.metastasis.pk
    bulk_create_with_history(treatments, Treatment, default_user=actor)
