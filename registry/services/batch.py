"""Batch submission: up to a thousand cases keyed by local_id, each stored or refused alone.

Hospital systems sync from their records in bulk, so the batch is built for
bulk writes: every item is derived and validated in memory against the
vocabulary snapshot, the institution's stored cases for all the keys are read
(and locked) in one query, and then new cases, changed cases and their children
go to the database in a fixed number of statements (`store_cases`), with the
same history rows as single writes. Unchanged cases are not written at all.

An invalid item is reported and skipped; it never stops the valid ones. If the
bulk write meets a conflict anyway (a parallel request inserted one of the keys
after the read), it is rolled back to its savepoint and the items are written
one by one as upserts, each in its own savepoint, so no item is half-written.

A local_id may appear once per batch: a later repeat is an error item
("repeated in this batch") and the first occurrence is processed as usual.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from registry.case_keys import clean_local_id, local_id_key
from registry.error_codes import ErrorCode
from registry.models import Case, Institution, User
from registry.payload import CasePayload
from registry.services.case_store import PreparedCase, apply_change, prepare_case, store_cases
from registry.services.cases import Outcome, case_upsert
from registry.vocabularies import current_vocabularies
from registry.work_budget import budget_check

MAX_BATCH_SIZE = 1000
# Metastases and treatments of one batch together: the write time follows them, so this
# keeps the largest valid batch to a few seconds (measured in docs/limits-and-errors.md),
# while 1,000 realistic cases fit with room (synthetic ones: about 3,500 rows).
MAX_BATCH_ROWS = 6_000


class BatchTooLarge(Exception):
    """More items than one batch may hold (HTTP 413)."""

    def __init__(self, size: int, rows: int | None = None):
        if rows is None:
            message = f"A batch holds at most {MAX_BATCH_SIZE} cases; this one has {size}."
        else:
            message = (
                f"A batch holds at most {MAX_BATCH_ROWS} metastases and treatments "
                f"together; this one has {rows}."
            )
        super().__init__(f"{message} Split it into smaller batches.")
        self.size = size


@dataclass(frozen=True)
class FieldError:
    """One problem of an item, by field path such as `metastases[0].site`."""

    field: str | None
    message: str
    code: str = ErrorCode.INVALID


@dataclass(frozen=True)
class BatchItem:
    """One case of a batch; `errors` holds problems found before the registry saw it."""

    local_id: str | None
    payload: CasePayload
    errors: tuple[FieldError, ...] = ()


@dataclass(frozen=True)
class ItemResult:
    """What became of one item: an Outcome and the case, or the errors."""

    index: int
    local_id: str | None
    outcome: Outcome | None
    case: Case | None = None
    errors: tuple[FieldError, ...] = field(default=())
    flags: tuple = ()  # the stored case's soft-edit flags after the write; none for an error

    @property
    def result(self) -> str:
        return self.outcome.value if self.outcome else "error"


def check_batch_size(size: int, rows: int = 0) -> None:
    """BatchTooLarge past MAX_BATCH_SIZE cases or MAX_BATCH_ROWS metastases and treatments."""
    if size > MAX_BATCH_SIZE:
        raise BatchTooLarge(size)
    if rows > MAX_BATCH_ROWS:
        raise BatchTooLarge(size, rows)


def batch_rows(cases: Sequence) -> int:
    """Metastases and treatments of a batch as sent (anything unreadable counts nothing)."""
    return sum(
        len(case.get(children) or ()) if isinstance(case.get(children), list) else 0
        for case in cases
        if isinstance(case, dict)
        for children in ("metastases", "treatments")
    )


def case_batch_submit(
    *, institution: Institution, items: Sequence[BatchItem], actor: User | None
) -> list[ItemResult]:
    """Create, replace or leave alone each item's case; one result per item, in order."""
    check_batch_size(len(items))
    results: list[ItemResult | None] = [None] * len(items)
    prepared = _validate(institution, items, results)
    if prepared:
        with transaction.atomic():
            _write(institution, items, prepared, actor, results)
    return results


# ---------------------------------------------------------------- validation, in memory


def _validate(institution, items, results) -> dict[int, PreparedCase]:
    """Prepared cases by item index; the others get their error result."""
    vocab = current_vocabularies()
    first_seen: dict[str, int] = {}
    prepared = {}
    for index, item in enumerate(items):
        budget_check()  # screening one item's text takes up to a second: stop when time is up
        local_id = item.local_id
        if local_id is not None:
            try:
                local_id = clean_local_id(item.local_id)
            except ValidationError as invalid:
                results[index] = _error(index, item, [*item.errors, *_field_errors(invalid)])
                continue
            key = local_id_key(local_id)
            if key in first_seen:
                repeat = FieldError(
                    "local_id",
                    f"'{item.local_id}' is repeated in this batch (first at item "
                    f"{first_seen[key]}); send each case once.",
                    ErrorCode.REPEATED_IN_BATCH,
                )
                results[index] = _error(index, item, [repeat])
                continue
            first_seen[key] = index
        if item.errors:
            results[index] = _error(index, item, item.errors)
            continue
        case = Case(institution=institution, local_id=local_id)
        try:
            prepared[index] = prepare_case(case, item.payload, vocab)
        except ValidationError as invalid:
            results[index] = _error(index, item, _field_errors(invalid))
    return prepared


def _field_errors(invalid: ValidationError) -> list[FieldError]:
    if not hasattr(invalid, "error_dict"):
        return [FieldError(None, message) for message in invalid.messages]
    return [
        FieldError(path, message)
        for path, messages in invalid.message_dict.items()
        for message in messages
    ]


def _error(index: int, item: BatchItem, errors) -> ItemResult:
    return ItemResult(index, item.local_id, None, errors=tuple(errors))


# ---------------------------------------------------------------- writing, in bulk


def _write(institution, items, prepared: dict[int, PreparedCase], actor, results) -> None:
    stored = {
        case.local_id_key: case
        for case in Case.objects.select_for_update()
        .filter(
            institution=institution,
            local_id_key__in=[p.case.local_id_key for p in prepared.values()],
        )
        .order_by("pk")  # parallel batches lock shared cases in one order: no deadlock
        .prefetch_related("metastases", "treatments", "flags")
    }
    new, changed = [], []
    for index, item in prepared.items():
        current = stored.get(item.case.local_id_key)
        change = None if current is None else apply_change(item, current, actor)
        if current is None:
            new.append((index, item))
        elif change is not None:
            changed.append((index, change))
        else:
            flags = tuple(current.flags.all())
            results[index] = ItemResult(
                index, item.case.local_id, Outcome.UNCHANGED, current, flags=flags
            )
    if not (new or changed):
        return
    new.sort(
        key=lambda pair: pair[1].case.local_id_key
    )  # the same insert order as a parallel batch
    try:
        with transaction.atomic():
            details = store_cases(
                new=[p for _, p in new], changed=[p for _, p in changed], actor=actor
            )
    except IntegrityError:
        for index, _ in [*new, *changed]:
            results[index] = _write_one(institution, index, items[index], actor)
        return
    outcomes = [Outcome.CREATED] * len(new) + [Outcome.UPDATED] * len(changed)
    for (index, _), outcome, written in zip([*new, *changed], outcomes, details, strict=True):
        results[index] = ItemResult(
            index, written.case.local_id, outcome, written.case, flags=written.flags
        )


def _write_one(institution, index: int, item: BatchItem, actor) -> ItemResult:
    """The fallback: one item as an upsert in its own savepoint."""
    try:
        with transaction.atomic():
            write = case_upsert(
                institution=institution, local_id=item.local_id, payload=item.payload, actor=actor
            )
    except ValidationError as invalid:
        return _error(index, item, _field_errors(invalid))
    except IntegrityError as broken:
        rule = getattr(getattr(broken.__cause__, "diag", None), "constraint_name", None)
        message = "The case breaks a rule of the database" + (f" ({rule})." if rule else ".")
        return _error(index, item, [FieldError(None, message, "conflict")])
    flags = write.details.flags if write.details else tuple(write.case.flags.all())
    return ItemResult(index, item.local_id, write.outcome, write.case, flags=flags)
