"""Writing cases: create, replace, upsert, review and delete, each all or nothing.

Every path runs the same derivations and validation edits, keeps the audit
history (who, when, what) and raises the version used for ETags. The rows are
written by `store_cases`, which takes many cases at once, so a single request and
a batch of a thousand (`registry.services.batch`) share one way to the database.
"""

import enum
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from registry.case_keys import clean_local_id, local_id_key
from registry.deidentification import find_identifiers, identifier_message
from registry.edits import check_case, derive_case_values
from registry.models import Case, Institution, Metastasis, ReviewStatus, Treatment, User
from registry.services.bulk_rows import create_with_history, insert_history, update_rows
from registry.services.case_payload import CASE_FIELDS, CodedPayload, build_case, case_payload
from registry.services.flags import settle_flags
from registry.services.redaction import redact_deleted_case
from registry.soft_edits import flag_case
from registry.vocabularies import VocabularySnapshot, current_vocabularies

RECEPTOR_FIELDS = ("er_percent", "pr_percent", "her2_ihc", "her2_ish", "ki67_percent")
# A clash can repeat only if the case that caused it is deleted in between.
_UPSERT_ATTEMPTS = 3


class Outcome(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class CaseWrite:
    case: Case
    outcome: Outcome


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


class LocalIdTaken(Exception):
    """Another case of the institution already has this local_id."""


# ---------------------------------------------------------------- create, replace, upsert


@transaction.atomic
def case_create(
    *, institution: Institution, local_id: str, payload: CodedPayload, actor: User | None
) -> Case:
    """A new case; ValidationError if invalid or if `local_id` is taken."""
    local_id = clean_local_id(local_id)
    case = Case(institution=institution, local_id=local_id)
    vocab = current_vocabularies()
    prepare_case(case, payload, vocab)
    try:
        insert_case(case, actor)
    except LocalIdTaken as clash:
        raise ValidationError(
            {"local_id": [f"Your institution already has a case '{local_id}'."]}
        ) from clash
    attach_details(case, vocab)
    return case


@transaction.atomic
def case_update(
    *,
    case: Case,
    payload: CodedPayload,
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
    prepared = Case(pk=case.pk, institution_id=case.institution_id, local_id=case.local_id)
    prepare_case(prepared, payload, vocab)
    if not apply_change(prepared, case, actor):
        return CaseWrite(case, Outcome.UNCHANGED)
    store_cases(new=[], changed=[case], actor=actor)
    return CaseWrite(case, Outcome.UPDATED)


@transaction.atomic
def case_upsert(
    *,
    institution: Institution,
    local_id: str,
    payload: CodedPayload,
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
        case = Case(institution=institution, local_id=local_id)
        vocab = current_vocabularies()
        prepare_case(case, payload, vocab)
        try:
            insert_case(case, actor)
        except LocalIdTaken:
            continue  # a parallel request created it first: replace that one
        attach_details(case, vocab)
        return CaseWrite(case, Outcome.CREATED)
    raise ValidationError({"local_id": [f"The case '{local_id}' is being changed; retry."]})


# ---------------------------------------------------------------- review and delete


@transaction.atomic
def case_review(*, case: Case, status: str, reason: str = "", actor: User | None) -> Case:
    """Move a case through review: submitted → in_review → verified | rejected."""
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
    stored.status = status
    stored.rejection_reason = reason
    stored.version += 1
    stored._history_user = actor
    stored.save(update_fields=["status", "rejection_reason", "version", "updated_at"])
    return stored


@transaction.atomic
def case_delete(*, case: Case, actor: User | None) -> None:
    """Delete a case; its history keeps who deleted it and its coded record.

    Its free text and key are redacted from every history row (a `Redaction`
    records it): what a deleted case held must not outlive it in the history.
    """
    stored = Case.objects.prefetch_related("metastases", "treatments").get(pk=case.pk)
    _delete_children([stored], actor, timezone.now())
    case_id, case_uuid = stored.pk, stored.uuid
    case._history_user = actor
    case.delete()
    redact_deleted_case(case_id=case_id, case_uuid=case_uuid, actor=actor)


# ---------------------------------------------------------------- steps shared with batches


def prepare_case(case: Case, payload: CodedPayload, vocab: VocabularySnapshot | None = None):
    """Build, derive and validate in memory; raises ValidationError with every problem.

    The unsaved metastases and treatments, and the soft-edit flags the case
    raises, wait on the case for `store_cases`.
    """
    vocab = vocab or current_vocabularies()
    _, metastases, treatments = build_case(payload, case)
    derive_case_values(case, vocab)
    check_case(case, metastases, treatments, vocab)
    case._pending_children = (metastases, treatments)
    case._pending_flags = flag_case(case, metastases, vocab)


def attach_details(case: Case, vocab: VocabularySnapshot) -> None:
    """Give a case just inserted what `with_case_details` would load, from memory.

    The rows hold exactly the values of these instances (ids and timestamps came
    back from the INSERTs), and the coded rows are the snapshot's, so the case can
    be answered with without reading it back. `has_details` tells the API so.
    """
    metastases, treatments = case._pending_children
    case.primary_site = vocab.topography[case.primary_site_id]
    case.primary_morphology = vocab.morphology[case.primary_morphology_id]
    case.subtype = vocab.subtypes[case.subtype_id] if case.subtype_id is not None else None
    for metastasis in metastases:
        metastasis.site = vocab.topography[metastasis.site_id]
        morphology = metastasis.morphology_id
        metastasis.morphology = vocab.morphology[morphology] if morphology is not None else None
    # Children in id order, as the prefetch of `with_case_details` gives them, held
    # the way prefetch_related holds them (an evaluated queryset per relation);
    # `store_cases` put the flags there already.
    case.__dict__.setdefault("_prefetched_objects_cache", {})
    for name, rows in (("metastases", metastases), ("treatments", treatments)):
        _hold(case, name, sorted(rows, key=lambda row: row.pk))
    case._has_details = True


def has_details(case: Case) -> bool:
    """Whether `attach_details` loaded the case's relations and children in memory."""
    return getattr(case, "_has_details", False)


def apply_change(prepared: Case, stored: Case, actor: User | None) -> bool:
    """Move a prepared case's content onto the stored one (children prefetched).

    False, and `stored` untouched, when the content is the same: no write is due.
    """
    metastases, treatments = prepared._pending_children
    if case_payload(prepared, metastases, treatments) == case_payload(stored):
        return False
    for name in CASE_FIELDS:
        attname = Case._meta.get_field(name).attname
        setattr(stored, attname, getattr(prepared, attname))
    stored._pending_children = (metastases, treatments)
    stored._pending_flags = prepared._pending_flags
    if actor is None or not actor.is_curator:
        # New content needs a new review, whatever the case's status was.
        stored.status = ReviewStatus.SUBMITTED
        stored.rejection_reason = ""
    stored.version += 1
    return True


def insert_case(case: Case, actor: User | None) -> None:
    """Store one prepared new case; LocalIdTaken if its key is in use."""
    try:
        with transaction.atomic():
            store_cases(new=[case], changed=[], actor=actor)
    except IntegrityError as clash:
        taken = Case.objects.filter(
            institution_id=case.institution_id, local_id_key=case.local_id_key
        )
        if taken.exists():
            case.pk = None  # the insert was rolled back
            raise LocalIdTaken(case.local_id) from clash
        raise


_UPDATED_FIELDS = [
    *(Case._meta.get_field(name).attname for name in CASE_FIELDS),
    "status",
    "rejection_reason",
    "has_open_flags",
    "version",
    "updated_at",
]


def store_cases(*, new: list[Case], changed: list[Case], actor: User | None) -> None:
    """Write prepared cases in bulk, with history rows attributed to `actor`.

    New cases are inserted; changed ones (from `apply_change`, children
    prefetched) are updated and their metastases and treatments replaced.
    A fixed number of statements, however many cases (and a few per flagged case).
    Each case's flags after the write are held as its prefetched `flags`.
    """
    now = timezone.now()
    flags = settle_flags([*new, *changed])
    if new:
        create_with_history(Case, new, actor, now)
    if changed:
        for case in changed:
            case.updated_at = now
        update_rows(Case, changed, _UPDATED_FIELDS)
        # As simple_history's bulk_history_create(update=True): reason "".
        insert_history(Case, changed, "~", actor, now, reason="")
        _delete_children(changed, actor, now)
    _insert_children([*new, *changed], actor, now)
    flags.write(actor, now)
    for case in [*new, *changed]:
        _hold(case, "flags", flags.of(case))


def _hold(case: Case, relation: str, rows: list) -> None:
    """Hold rows as the case's prefetched relation, as prefetch_related would."""
    loaded = getattr(case, relation).get_queryset()
    loaded._result_cache = rows
    loaded._prefetch_done = True
    case.__dict__.setdefault("_prefetched_objects_cache", {})[relation] = loaded


def _insert_children(cases: list[Case], actor: User | None, now) -> None:
    metastases, treatments = [], []
    for case in cases:
        case_metastases, case_treatments = case._pending_children
        for metastasis in case_metastases:
            metastasis.case = case
        for treatment in case_treatments:
            treatment.case = case
        metastases += case_metastases
        treatments += case_treatments
    if metastases:
        create_with_history(Metastasis, metastases, actor, now)
    for treatment in treatments:
        if treatment.metastasis is not None:
            treatment.metastasis_id = treatment.metastasis.pk
    if treatments:
        create_with_history(Treatment, treatments, actor, now)


def _delete_children(cases: list[Case], actor: User | None, now) -> None:
    """Delete the cases' stored metastases and treatments, writing their '-' history rows."""
    treatments = [t for case in cases for t in case.treatments.all()]
    metastases = [m for case in cases for m in case.metastases.all()]
    for model, rows in ((Treatment, treatments), (Metastasis, metastases)):
        if not rows:
            continue
        insert_history(model, rows, "-", actor, now, reason=None)
        # One statement, without Django's per-row delete signals: the history is written above.
        table = connection.ops.quote_name(model._meta.db_table)
        case_ids = sorted({row.case_id for row in rows})
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {table} WHERE case_id IN ({', '.join(['%s'] * len(case_ids))})",
                case_ids,
            )


def _patched(before: CodedPayload, patch: CodedPayload, vocab: VocabularySnapshot):
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
