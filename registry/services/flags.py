"""Soft-edit flags on stored cases: kept in step with each write, confirmed by curators.

Every write of a case (`case_store.store_cases`) matches the flags its content
raises now with the flags stored: a flag raised again with the same code, field and
message keeps its confirmation; a flag no longer raised is deleted; a new one
is stored open. `Case.has_open_flags` says whether any flag awaits a curator,
and keeps the case out of non-curators' statistics until none does
(`registry.selectors.counted_by`).
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from registry.deidentification import find_identifier, identifier_message
from registry.linkage.persons import recount_person
from registry.models import Case, CaseFlag, User
from registry.services.bulk_rows import create_with_history
from registry.soft_edits import Flag


@dataclass
class FlagChanges:
    """What a write does to the flags of its cases, decided before the cases are written."""

    stale: list[CaseFlag] = field(default_factory=list)
    raised: list[tuple[Case, Flag]] = field(default_factory=list)
    kept: dict[int, list[CaseFlag]] = field(default_factory=dict)  # by id(case)
    stored: dict[int, list[CaseFlag]] = field(default_factory=dict)  # new rows, once written

    def write(self, actor: User | None, now) -> None:
        """Delete the stale flags and store the new ones (the cases are saved by now)."""
        for row in self.stale:
            row._history_user = actor  # the '-' history row names who removed it
            row.delete()
        rows = []
        for case, flag in self.raised:
            row = CaseFlag(
                case=case, code=flag.code, field=flag.field, message=flag.message, raised_at=now
            )
            self.stored.setdefault(id(case), []).append(row)
            rows.append(row)
        if rows:
            create_with_history(CaseFlag, rows, actor, now)

    def of(self, case: Case) -> list[CaseFlag]:
        """The case's flags after the write, in id order."""
        rows = [*self.kept.get(id(case), []), *self.stored.get(id(case), [])]
        return sorted(rows, key=lambda row: row.pk)


def settle_flags(cases: list[tuple[Case, Sequence[Flag]]]) -> FlagChanges:
    """Match the flags each prepared case raises with its stored ones; set `has_open_flags`.

    `cases` pairs each case about to be written with the flags its content raises.
    Stored flags are read from the case's prefetched `flags` where the caller
    loaded them (one query for a whole batch), else one query per stored case.
    """
    changes = FlagChanges()
    for case, raised in cases:
        stored = [] if case.pk is None else list(case.flags.all())
        by_key = {(row.code, row.field, row.message): row for row in stored}
        kept = []
        for flag in raised:
            row = by_key.pop((flag.code, flag.field, flag.message), None)
            if row is None:
                changes.raised.append((case, flag))
            else:
                kept.append(row)
        changes.stale += by_key.values()
        changes.kept[id(case)] = kept
        case.has_open_flags = any(row.is_open for row in kept) or len(kept) < len(raised)
    return changes


# ---------------------------------------------------------------- over-rides


@transaction.atomic
def case_confirm_flags(*, case: Case, codes: list[str], reason: str, actor: User) -> Case:
    """A curator confirms open flags of a case (an over-ride): who, when and why are kept.

    The case counts in statistics once no flag is open. The confirmation is on
    each flag and its history; the case's history gets a row naming the codes.
    """
    if actor is None or not actor.is_curator:
        raise PermissionDenied("Only curators confirm flagged cases.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["Say why the unusual combination is right."]})
    kind = find_identifier(reason)
    if kind:
        raise ValidationError({"reason": [identifier_message([kind])]})
    stored = Case.objects.select_for_update().prefetch_related("flags").get(pk=case.pk)
    open_flags = {row.code: row for row in stored.flags.all() if row.is_open}
    codes = list(dict.fromkeys(codes))
    if not codes:
        raise ValidationError({"flags": ["Name the flags to confirm."]})
    unknown = [code for code in codes if code not in open_flags]
    if unknown:
        still_open = ", ".join(sorted(open_flags)) or "none"
        raise ValidationError(
            {
                "flags": [
                    f"No open flag {', '.join(map(repr, unknown))} on this case "
                    f"(open flags: {still_open})."
                ]
            }
        )
    now = timezone.now()
    for row in stored.flags.all():
        if row.is_open and row.code in codes:
            row.confirmed_by = actor
            row.confirmed_at = now
            row.confirmation_reason = reason
            row._history_user = actor
            row.save(update_fields=["confirmed_by", "confirmed_at", "confirmation_reason"])
    stored.has_open_flags = any(row.is_open for row in stored.flags.all())
    stored.version += 1
    stored._history_user = actor
    stored._change_reason = f"Curator confirmed flags: {', '.join(codes)}"
    stored.save(update_fields=["has_open_flags", "version", "updated_at"])
    recount_person(stored.pk)  # a case that now counts may become its person's counted report
    return stored
