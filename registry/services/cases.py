"""Writing cases: create, replace, upsert, review and delete, each all or nothing.

Every path runs the same derivations and validation edits, keeps the audit
history (who, when, what) and raises the version used for ETags. The steps are
`registry.services.case_store`'s, shared with batches (`registry.services.batch`):
a single request and a batch of a thousand have one way to the database.
"""

import enum
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from registry.case_keys import clean_local_id, local_id_key
from registry.deidentification import find_identifiers, identifier_message
from registry.edits import derive_case_values
from registry.linkage.persons import person_of, recount_person
from registry.models import Case, Institution, ReviewStatus, User
from registry.payload import CasePayload, build_case, case_payload
from registry.review import check_review_transition
from registry.services.case_store import (
    CaseDetails,
    LocalIdTaken,
    apply_change,
    delete_children,
    insert_case,
    prepare_case,
    store_cases,
)
from registry.services.redaction import redact_deleted_case
from registry.subtypes import RECEPTOR_FIELDS
from registry.vocabularies import VocabularySnapshot, current_vocabularies

# A clash can repeat only if the case that caused it is deleted in between.
_UPSERT_ATTEMPTS = 3


class Outcome(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class CaseWrite:
    """What a write did to a case; `details` holds the case as written when it was
    (CREATED, UPDATED), so it can be answered with without reading it back."""

    case: Case
    outcome: Outcome
    details: CaseDetails | None = None


class StaleVersion(Exception):
    """The client's copy of the case is older than the stored one (HTTP 412).

    `current_version` is None when the client expected a case that does not exist.
    """

    def __init__(self, current_version: int | None):
        if current_version is None:
            super().__init__("There is no such case yet.")
        else:
            super().__init__(f"The case is at version {current_version}.")
        self.current_version = current_version


@dataclass(frozen=True)
class VersionPrecondition:
    """What an update requires of the stored case: one of `versions`, or any (`*`)."""

    versions: frozenset[int] = frozenset()
    any_version: bool = False

    def holds_for(self, version: int) -> bool:
        return self.any_version or version in self.versions


def _precondition(expected: "int | VersionPrecondition | None") -> VersionPrecondition | None:
    if isinstance(expected, int):
        return VersionPrecondition(frozenset({expected}))
    return expected


# ---------------------------------------------------------------- create, replace, upsert


@transaction.atomic
def case_create(
    *, institution: Institution, local_id: str, payload: CasePayload, actor: User | None
) -> Case:
    """A new case; ValidationError if invalid or if `local_id` is taken."""
    return case_submit(
        institution=institution, local_id=local_id, payload=payload, actor=actor
    ).case


@transaction.atomic
def case_submit(
    *, institution: Institution, local_id: str, payload: CasePayload, actor: User | None
) -> CaseWrite:
    """`case_create`, handing back the CaseWrite (with the case's details) the API answers with."""
    local_id = clean_local_id(local_id)
    prepared = prepare_case(Case(institution=institution, local_id=local_id), payload)
    try:
        details = insert_case(prepared, actor)
    except LocalIdTaken as clash:
        raise ValidationError(
            {"local_id": [f"Your institution already has a case '{local_id}'."]}
        ) from clash
    return CaseWrite(details.case, Outcome.CREATED, details)


@transaction.atomic
def case_update(
    *,
    case: Case,
    payload: CasePayload,
    actor: User | None,
    partial: bool = False,
    expected_version: int | VersionPrecondition | None = None,
) -> CaseWrite:
    """Replace (or, with `partial`, patch) a stored case; UNCHANGED writes nothing."""
    case = (
        Case.objects.select_for_update()
        .prefetch_related("metastases", "treatments", "flags")
        .get(pk=case.pk)
    )
    precondition = _precondition(expected_version)
    if precondition is not None and not precondition.holds_for(case.version):
        raise StaleVersion(case.version)
    before = case_payload(case)
    vocab = current_vocabularies()
    if partial:
        payload = _patched(before, payload, vocab)
    probe = Case(pk=case.pk, institution_id=case.institution_id, local_id=case.local_id)
    changed = apply_change(prepare_case(probe, payload, vocab), case, actor)
    if changed is None:
        return CaseWrite(case, Outcome.UNCHANGED)
    [details] = store_cases(new=[], changed=[changed], actor=actor)
    return CaseWrite(case, Outcome.UPDATED, details)


@transaction.atomic
def case_upsert(
    *,
    institution: Institution,
    local_id: str,
    payload: CasePayload,
    actor: User | None,
    expected_version: int | VersionPrecondition | None = None,
) -> CaseWrite:
    """Create or replace the institution's case with this `local_id`.

    CREATED, UPDATED, or UNCHANGED (nothing written, no history) when the stored
    case already says the same. Parallel calls with one key yield one case: the
    loser of the insert race waits for the winner's commit on the unique index,
    then replaces the winner's case instead. Keys are compared as
    `registry.case_keys` says: "ABC-1" finds the case stored as "abc-1".
    """
    local_id = clean_local_id(local_id)
    for _ in range(_UPSERT_ATTEMPTS):
        stored = (
            Case.objects.select_for_update()
            .filter(institution=institution, local_id_key=local_id_key(local_id))
            .first()
        )
        if stored is not None:
            return case_update(
                case=stored, payload=payload, actor=actor, expected_version=expected_version
            )
        if expected_version is not None:
            raise StaleVersion(None)
        prepared = prepare_case(Case(institution=institution, local_id=local_id), payload)
        try:
            details = insert_case(prepared, actor)
        except LocalIdTaken:
            continue  # a parallel request created it first: replace that one
        return CaseWrite(details.case, Outcome.CREATED, details)
    raise ValidationError({"local_id": [f"The case '{local_id}' is being changed; retry."]})


# ---------------------------------------------------------------- review and delete


@transaction.atomic
def case_review(*, case: Case, status: str, reason: str = "", actor: User | None) -> Case:
    """Move a case through review as `registry.review` allows.

    ReviewTransitionRefused for a move the table does not allow; a review that
    changes nothing (same status, same reason) writes nothing and keeps the version.
    """
    if status not in ReviewStatus.values:
        raise ValidationError({"status": [f"Unknown review status '{status}'."]})
    reason = reason.strip() if status == ReviewStatus.REJECTED else ""
    if status == ReviewStatus.REJECTED and not reason:
        raise ValidationError({"rejection_reason": ["A rejection needs a reason."]})
    kinds = find_identifiers(reason)
    if kinds:
        raise ValidationError({"rejection_reason": [identifier_message(kinds)]})
    # The stored row, not the caller's copy, which may be older (the version is the ETag).
    stored = Case.objects.select_for_update().get(pk=case.pk)
    if (stored.status, stored.rejection_reason) == (status, reason):
        return stored
    check_review_transition(stored.status, status)
    stored.status = status
    stored.rejection_reason = reason
    stored.version += 1
    stored._history_user = actor
    stored.save(update_fields=["status", "rejection_reason", "version", "updated_at"])
    recount_person(stored.pk)  # which report of a person counts may change with its status
    return stored


@transaction.atomic
def case_delete(*, case: Case, actor: User | None) -> None:
    """Delete a case; its history keeps who deleted it and its coded record.

    Its free text and key are redacted from every history row (a `Redaction`
    records it): what a deleted case held must not outlive it in the history.
    """
    stored = Case.objects.prefetch_related("metastases", "treatments").get(pk=case.pk)
    delete_children([stored], actor, timezone.now())
    case_id, case_uuid = stored.pk, stored.uuid
    same_person = person_of(case_id) - {case_id}
    case._history_user = actor
    case.delete()
    redact_deleted_case(case_id=case_id, case_uuid=case_uuid, actor=actor)
    if same_person:  # its links went with it: the others' person is counted again
        recount_person(min(same_person))
        for other in same_person - person_of(min(same_person)):
            recount_person(other)


# ---------------------------------------------------------------- internal steps


def _patched(before: CasePayload, patch: CasePayload, vocab: VocabularySnapshot):
    """The stored case with the patch applied.

    A subtype that was derived from the old receptors is derived again when the
    patch changes the receptors or the primary without naming a subtype.
    """
    merged = {**before, **patch}
    touches_derivation = any(name in patch for name in (*RECEPTOR_FIELDS, "primary_site"))
    if "subtype" not in patch and touches_derivation and before["subtype"] is not None:
        probe = Case()
        build_case({**before, "subtype": None}, probe)
        derive_case_values(probe, vocab)
        if probe.subtype_id == before["subtype"]:
            merged["subtype"] = None
    return merged
