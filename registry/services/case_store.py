"""The steps every case write shares: prepare in memory, compare, store in bulk.

`registry.services.cases` (one case) and `registry.services.batch` (a thousand)
are built from these, so both derive, check, flag and write a case the same way.
Each step hands back what it produces: `prepare_case` a `PreparedCase`,
`store_cases` a `CaseDetails` per case written, which the API answers with
without reading the case back (a measured goal: see docs/performance.md).
"""

import dataclasses
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from registry.edits import check_case, derive_case_values
from registry.models import Case, CaseFlag, Metastasis, ReviewStatus, Treatment, User
from registry.payload import CASE_FIELDS, CasePayload, build_case, case_payload
from registry.services.bulk_rows import create_with_history, insert_history, update_rows
from registry.services.flags import settle_flags
from registry.soft_edits import Flag, flag_case
from registry.vocabularies import VocabularySnapshot, current_vocabularies


class LocalIdTaken(Exception):
    """Another case of the institution already has this local_id."""


@dataclass(frozen=True)
class PreparedCase:
    """A case built, derived and checked in memory, with its children and the flags it
    raises; nothing is saved until `store_cases`. `vocab` is the snapshot it was
    checked against, whose coded rows the written case is answered with."""

    case: Case
    metastases: tuple[Metastasis, ...]
    treatments: tuple[Treatment, ...]
    flags: tuple[Flag, ...]
    vocab: VocabularySnapshot


@dataclass(frozen=True)
class CaseDetails:
    """A case just written, with its coded rows, children and flags, held in memory.

    What `with_case_details` would read back, built from the PreparedCase and the
    vocabulary snapshot (ids and timestamps came back from the writes). Any other
    attribute is the case's own, so a serializer reads it as it reads a `Case`.
    """

    case: Case
    metastases: tuple[Metastasis, ...]
    treatments: tuple[Treatment, ...]
    flags: tuple[CaseFlag, ...]

    def __getattr__(self, name: str):
        if name.startswith("__") or name in {"case", "metastases", "treatments", "flags"}:
            raise AttributeError(name)  # not set yet (copying, unpickling): no recursion
        return getattr(self.case, name)


def prepare_case(
    case: Case, payload: CasePayload, vocab: VocabularySnapshot | None = None
) -> PreparedCase:
    """Build the payload onto `case`, derive and validate in memory.

    Raises ValidationError with every problem; nothing touches the database.
    """
    vocab = vocab or current_vocabularies()
    _, metastases, treatments = build_case(payload, case)
    derive_case_values(case, vocab)
    check_case(case, metastases, treatments, vocab)
    flags = tuple(flag_case(case, metastases, vocab))
    return PreparedCase(case, tuple(metastases), tuple(treatments), flags, vocab)


def apply_change(prepared: PreparedCase, stored: Case, actor: User | None) -> PreparedCase | None:
    """Move a prepared case's content onto the stored one (children prefetched).

    None, and `stored` untouched, when the content is the same: no write is due.
    """
    same = case_payload(
        prepared.case, list(prepared.metastases), list(prepared.treatments)
    ) == case_payload(stored)
    if same:
        return None
    for name in CASE_FIELDS:
        attname = Case._meta.get_field(name).attname
        setattr(stored, attname, getattr(prepared.case, attname))
    if actor is None or not actor.is_curator:
        # New content needs a new review, whatever the case's status was.
        stored.status = ReviewStatus.SUBMITTED
        stored.rejection_reason = ""
    stored.version += 1
    return dataclasses.replace(prepared, case=stored)


def insert_case(prepared: PreparedCase, actor: User | None) -> CaseDetails:
    """Store one prepared new case; LocalIdTaken if its key is in use."""
    case = prepared.case
    try:
        with transaction.atomic():
            [details] = store_cases(new=[prepared], changed=[], actor=actor)
    except IntegrityError as clash:
        taken = Case.objects.filter(
            institution_id=case.institution_id, local_id_key=case.local_id_key
        )
        if taken.exists():
            case.pk = None  # the insert was rolled back
            raise LocalIdTaken(case.local_id) from clash
        raise
    return details


_UPDATED_FIELDS = [
    *(Case._meta.get_field(name).attname for name in CASE_FIELDS),
    "status",
    "rejection_reason",
    "has_open_flags",
    "version",
    "updated_at",
]


def store_cases(
    *, new: list[PreparedCase], changed: list[PreparedCase], actor: User | None
) -> list[CaseDetails]:
    """Write prepared cases in bulk, with history rows attributed to `actor`.

    New cases are inserted; changed ones (from `apply_change`, their stored
    children prefetched) are updated and their metastases and treatments replaced.
    A fixed number of statements, however many cases (and a few per flagged case).
    One CaseDetails per case, new ones first, each in the order given.
    """
    now = timezone.now()
    written = [*new, *changed]
    flags = settle_flags([(p.case, p.flags) for p in written])
    if new:
        create_with_history(Case, [p.case for p in new], actor, now)
    if changed:
        cases = [p.case for p in changed]
        for case in cases:
            case.updated_at = now
        update_rows(Case, cases, _UPDATED_FIELDS)
        # As simple_history's bulk_history_create(update=True): reason "".
        insert_history(Case, cases, "~", actor, now, reason="")
        delete_children(cases, actor, now)
    _insert_children(written, actor, now)
    flags.write(actor, now)
    return [_details(p, tuple(flags.of(p.case))) for p in written]


def _details(prepared: PreparedCase, flags: tuple[CaseFlag, ...]) -> CaseDetails:
    """The written case with the snapshot's coded rows: the rows hold exactly these values."""
    case, vocab = prepared.case, prepared.vocab
    case.primary_site = vocab.topography[case.primary_site_id]
    case.primary_morphology = vocab.morphology[case.primary_morphology_id]
    case.subtype = vocab.subtypes[case.subtype_id] if case.subtype_id is not None else None
    for metastasis in prepared.metastases:
        metastasis.site = vocab.topography[metastasis.site_id]
        morphology = metastasis.morphology_id
        metastasis.morphology = vocab.morphology[morphology] if morphology is not None else None
    # In id order, as the prefetch of `with_case_details` gives them.
    return CaseDetails(
        case,
        tuple(sorted(prepared.metastases, key=lambda row: row.pk)),
        tuple(sorted(prepared.treatments, key=lambda row: row.pk)),
        flags,
    )


def _insert_children(written: list[PreparedCase], actor: User | None, now) -> None:
    metastases, treatments = [], []
    for prepared in written:
        for child in (*prepared.metastases, *prepared.treatments):
            child.case = prepared.case
        metastases += prepared.metastases
        treatments += prepared.treatments
    if metastases:
        create_with_history(Metastasis, metastases, actor, now)
    for treatment in treatments:
        if treatment.metastasis is not None:
            treatment.metastasis_id = treatment.metastasis.pk
    if treatments:
        create_with_history(Treatment, treatments, actor, now)


def delete_children(cases: list[Case], actor: User | None, now) -> None:
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
