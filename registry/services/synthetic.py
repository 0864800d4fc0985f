"""Loading synthetic cases (`registry.synthetic`) at a million-case scale, by COPY.

The cases skip the per-case services on purpose: a million would take hours
through them. What the services guarantee is kept by construction instead:
codes come from the loaded vocabularies (checked before the first row), the
generator follows the validation edits and derives breast subtypes with
`registry.subtypes`, the database's CHECK and foreign-key constraints stay on
during COPY, and every case, metastasis and treatment gets its '+' history row
(user empty, reason "synthetic, seed S"), so the audit trail covers them too.

Ids come from the tables' own sequences (`nextval` over a range), so API
writes running alongside never collide with them. Each chunk of cases is one
transaction: an interrupted load leaves whole cases, and the next load appends
after the last one.

On SQLite (`make run` without DATABASE_URL, `make demo`) the same rows go in by
INSERT, one loader after the last id: a demo's few thousand cases, not a bench's
million, and no other writer to collide with.
"""

import json
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from registry.case_keys import local_id_key
from registry.models import (
    Case,
    Institution,
    Metastasis,
    Morphology,
    Subtype,
    Topography,
    Treatment,
)
from registry.synthetic import (
    INSTITUTION_COUNT,
    INSTITUTION_COUNTRIES,
    INSTITUTION_PREFIX,
    LOCAL_ID_PREFIX,
    SyntheticCase,
    generate_cases,
    institution_code,
    vocabulary_codes,
)

CHUNK_CASES = 20_000

# Columns in the order the rows below are written; checked against the models.
CASE_COLUMNS = (
    "id",
    "uuid",
    "local_id",
    "local_id_key",
    "source",
    "doi",
    "pmid",
    "status",
    "rejection_reason",
    "sex",
    "age_at_diagnosis",
    "menopausal_status",
    "year_of_diagnosis",
    "primary_laterality",
    "grade",
    "stage_group",
    "er_percent",
    "pr_percent",
    "her2_ihc",
    "her2_ish",
    "ki67_percent",
    "vital_status",
    "follow_up_months",
    "version",
    "created_at",
    "institution_id",
    "primary_morphology_id",
    "subtype_id",
    "primary_site_id",
    "has_open_flags",
)
METASTASIS_COLUMNS = (
    "id",
    "laterality",
    "months_from_primary",
    "presentation",
    "size_mm",
    "misdiagnosis",
    "misdiagnosis_text",
    "confirmed_by",
    "case_id",
    "morphology_id",
    "site_id",
)
TREATMENT_COLUMNS = (
    "id",
    "modality",
    "target",
    "intent",
    "months_from_primary",
    "response",
    "case_id",
    "metastasis_id",
)
# What simple-history adds to each tracked row.
HISTORY_COLUMNS = (
    "history_id",
    "history_date",
    "history_change_reason",
    "history_type",
    "history_user_id",
)


class SyntheticLoadError(Exception):
    """The database cannot take synthetic cases as they are generated."""


@dataclass(frozen=True)
class LoadResult:
    cases: int
    metastases: int
    treatments: int
    first_index: int
    seconds: float
    deleted: int = 0

    @property
    def rate(self) -> float:
        return self.cases / self.seconds if self.seconds else 0.0


def synthetic_institutions() -> dict[int, int]:
    """The synthetic hospitals, created if missing: institution number → id."""
    existing = {
        row.code: row.pk for row in Institution.objects.filter(code__startswith=INSTITUTION_PREFIX)
    }
    missing = [
        Institution(
            code=institution_code(number),
            name=f"Synthetic Hospital {number:03d}",
            country=INSTITUTION_COUNTRIES[(number - 1) % len(INSTITUTION_COUNTRIES)],
        )
        for number in range(1, INSTITUTION_COUNT + 1)
        if institution_code(number) not in existing
    ]
    if missing:
        Institution.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {
            row.code: row.pk
            for row in Institution.objects.filter(code__startswith=INSTITUTION_PREFIX)
        }
    return {
        number: existing[institution_code(number)] for number in range(1, INSTITUTION_COUNT + 1)
    }


def synthetic_case_count() -> int:
    return Case.objects.filter(institution__code__startswith=INSTITUTION_PREFIX).count()


def synthetic_cases_delete() -> int:
    """Delete the synthetic hospitals' cases and their history; returns the cases deleted."""
    ids = Institution.objects.filter(code__startswith=INSTITUTION_PREFIX).values_list(
        "pk", flat=True
    )
    return institution_cases_purge(institution_ids=list(ids))


def institution_cases_purge(*, institution_ids: list[int]) -> int:
    """Delete every case of these institutions *and its history*, in six statements.

    Not for real data, whose deletions the history must keep: this is for
    synthetic and benchmark cases, which should leave no trace when wiped.
    """
    if not institution_ids:
        return 0
    # A placeholder per institution (a few dozen at most): the same SQL on SQLite.
    ids = f"({', '.join(['%s'] * len(institution_ids))})"
    case_ids = f"SELECT id FROM registry_case WHERE institution_id IN {ids}"
    history_case_ids = (
        f"SELECT DISTINCT id FROM registry_historicalcase WHERE institution_id IN {ids}"
    )
    statements = [
        f"DELETE FROM registry_historicaltreatment WHERE case_id IN ({history_case_ids})",
        f"DELETE FROM registry_historicalmetastasis WHERE case_id IN ({history_case_ids})",
        f"DELETE FROM registry_historicalcase WHERE institution_id IN {ids}",
        f"DELETE FROM registry_treatment WHERE case_id IN ({case_ids})",
        f"DELETE FROM registry_metastasis WHERE case_id IN ({case_ids})",
        f"DELETE FROM registry_case WHERE institution_id IN {ids}",
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement, list(institution_ids))
        deleted = cursor.rowcount
    return deleted


def next_synthetic_index(prefix: str = LOCAL_ID_PREFIX) -> int:
    """The index after the last synthetic case (local_ids are zero-padded, so max is last)."""
    last = (
        Case.objects.filter(
            institution__code__startswith=INSTITUTION_PREFIX, local_id__startswith=prefix
        )
        .order_by("-local_id")
        .values_list("local_id", flat=True)
        .first()
    )
    return int(last[len(prefix) :]) + 1 if last else 0


def check_schema() -> None:
    """The tables hold exactly the columns written here (a new field needs a line here)."""
    for model, columns in (
        (Case, (*CASE_COLUMNS, "updated_at")),
        (Metastasis, METASTASIS_COLUMNS),
        (Treatment, TREATMENT_COLUMNS),
    ):
        # The record key is left to the column's default: the database draws it; a new
        # case is no one's linked duplicate (registry.linkage.persons) until a curator says so.
        defaulted = {"record_key", "linked_duplicate"}
        actual = {field.column for field in model._meta.concrete_fields} - defaulted
        history = {field.column for field in model.history.model._meta.concrete_fields}
        tracked = set(columns) - {"updated_at"}
        if actual != set(columns) or history != tracked | set(HISTORY_COLUMNS):
            raise SyntheticLoadError(
                f"{model.__name__} columns changed ({sorted(actual ^ set(columns))}); "
                "update registry/services/synthetic.py to write them."
            )


def check_vocabularies() -> None:
    """Every code the generator can produce is in the loaded vocabularies."""
    loaded = {
        "topography": set(Topography.objects.values_list("code", flat=True)),
        "morphology": set(Morphology.objects.values_list("code", flat=True)),
        "subtypes": set(Subtype.objects.values_list("code", flat=True)),
    }
    for vocabulary, codes in vocabulary_codes().items():
        missing = codes - loaded[vocabulary]
        if missing:
            raise SyntheticLoadError(
                f"{vocabulary} lacks codes the generator uses: {', '.join(sorted(missing))}. "
                "Run manage.py load_vocabularies first."
            )


def synthetic_cases_load(
    *,
    count: int,
    seed: int,
    reset: bool = False,
    chunk: int = CHUNK_CASES,
    workers: int = 2,
    on_progress: Callable[[int], None] | None = None,
) -> LoadResult:
    """Append `count` synthetic cases of `seed` (after wiping earlier ones with `reset`)."""
    check_schema()
    check_vocabularies()
    started = time.monotonic()
    deleted = synthetic_cases_delete() if reset else 0
    institutions = synthetic_institutions()
    first = next_synthetic_index()
    written = [0, 0, 0]
    if on_progress:
        on_progress(0)
    chunks = [
        (start, min(chunk, first + count - start)) for start in range(first, first + count, chunk)
    ]
    if workers > 1 and not connection.in_atomic_block and _has_copy():
        # Two loaders keep two PostgreSQL backends busy: COPY, index upkeep and the
        # deferred foreign-key checks at commit cost more than generating the rows.
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = [
                pool.submit(_load_chunk, seed, start, size, institutions, own_connection=True)
                for start, size in chunks
            ]
            for future in results:
                written = [total + n for total, n in zip(written, future.result(), strict=True)]
                if on_progress:
                    on_progress(written[0])
    else:
        # In the caller's transaction (a test, or an outer atomic block): one connection.
        for start, size in chunks:
            counts = _load_chunk(seed, start, size, institutions, own_connection=False)
            written = [total + n for total, n in zip(written, counts, strict=True)]
            if on_progress:
                on_progress(written[0])
    _tidy_up(bool(count))
    return LoadResult(*written, first, time.monotonic() - started, deleted)


def _tidy_up(loaded: bool) -> None:
    """After a bulk load: planner statistics, and (outside a transaction) a VACUUM.

    Without fresh statistics the planner costs a million rows as a thousand;
    without the VACUUM the first queries write hint bits over every new page
    and index-only scans read the heap, since the visibility map is empty.
    """
    if not loaded:
        return
    if not _has_copy():
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # SQLite: every table, one name at most
        return
    tables = ", ".join(
        [
            *(
                f"registry_{name}{table}"
                for name in ("", "historical")
                for table in ("case", "metastasis", "treatment")
            ),
            "registry_countedmetastasis",  # filled by the triggers, read by every count
        ]
    )
    with connection.cursor() as cursor:
        if connection.in_atomic_block:  # a test's transaction: VACUUM cannot run there
            cursor.execute(f"ANALYZE {tables}")
        else:
            cursor.execute(f"VACUUM (ANALYZE) {tables}")


# ---------------------------------------------------------------- COPY


def _load_chunk(seed: int, start: int, size: int, institutions, *, own_connection: bool):
    """Generate cases `start`…`start + size - 1` and COPY them in one transaction."""
    try:
        cases = list(generate_cases(seed, start, size))
        metastasis_count = sum(len(case.metastases) for case in cases)
        treatment_count = sum(len(case.treatments) for case in cases)
        ids = {
            table: _reserve_ids(table, n, column)
            for table, column, n in (
                ("registry_case", "id", len(cases)),
                ("registry_metastasis", "id", metastasis_count),
                ("registry_treatment", "id", treatment_count),
                ("registry_historicalcase", "history_id", len(cases)),
                ("registry_historicalmetastasis", "history_id", metastasis_count),
                ("registry_historicaltreatment", "history_id", treatment_count),
            )
        }
        with transaction.atomic():
            if _has_copy():
                with connection.cursor() as cursor:
                    # A seed load need not wait for each commit's WAL flush.
                    cursor.execute("SET LOCAL synchronous_commit TO off")
            _copy_chunk(cases, ids, institutions, seed)
        return size, metastasis_count, treatment_count
    finally:
        if own_connection:
            connection.close()  # the worker thread's own connection


def _copy_chunk(cases: list[SyntheticCase], ids: dict[str, range], institutions, seed: int):
    for table, (columns, lines) in copy_lines(cases, ids, institutions, seed).items():
        _copy(table, columns, lines)


def copy_lines(
    cases: list[SyntheticCase], ids: dict[str, range], institutions: dict[int, int], seed: int
) -> dict[str, tuple[tuple[str, ...], list[str]]]:
    """COPY text lines per table (with its columns) for cases whose ids are reserved.

    `ids` holds an id range per table, history tables included; `institutions`
    maps the generator's institution numbers to ids. The benchmark COPYs the
    base tables' lines as its baseline for batch ingest.
    """
    case_ids = ids["registry_case"]
    metastasis_ids = ids["registry_metastasis"]
    treatment_ids = ids["registry_treatment"]
    now = timezone.now().isoformat()
    history = f"{now}\t{_text(f'synthetic, seed {seed}')}\t+\t\\N"

    case_rows, metastasis_rows, treatment_rows = [], [], []
    history_case, history_metastasis, history_treatment = [], [], []
    next_metastasis = next_treatment = 0
    for case, case_id in zip(cases, case_ids, strict=True):
        row = _case_row(case, case_id, institutions[case.institution], now)
        case_rows.append(f"{row}\t{now}\n")
        history_case.append(row)
        own_ids = metastasis_ids[next_metastasis : next_metastasis + len(case.metastases)]
        next_metastasis += len(case.metastases)
        for metastasis, metastasis_id in zip(case.metastases, own_ids, strict=True):
            row = "\t".join(
                (
                    str(metastasis_id),
                    metastasis["laterality"],
                    _number(metastasis["months_from_primary"]),
                    metastasis["presentation"],
                    _number(metastasis["size_mm"]),
                    metastasis["misdiagnosis"],
                    _text(metastasis["misdiagnosis_text"]),
                    _json_list(metastasis["confirmed_by"]),
                    str(case_id),
                    metastasis["morphology"] or "\\N",
                    metastasis["site"],
                )
            )
            metastasis_rows.append(row + "\n")
            history_metastasis.append(row)
        for treatment in case.treatments:
            aimed_at = treatment["metastasis"]
            target = "\\N" if aimed_at is None else str(own_ids[aimed_at])
            row = "\t".join(
                (
                    str(treatment_ids[next_treatment]),
                    treatment["modality"],
                    treatment["target"],
                    treatment["intent"],
                    _number(treatment["months_from_primary"]),
                    treatment["response"],
                    str(case_id),
                    target,
                )
            )
            next_treatment += 1
            treatment_rows.append(row + "\n")
            history_treatment.append(row)

    def with_history(rows: list[str], table: str) -> list[str]:
        return [f"{row}\t{hid}\t{history}\n" for row, hid in zip(rows, ids[table], strict=True)]

    return {
        "registry_case": ((*CASE_COLUMNS, "updated_at"), case_rows),
        "registry_metastasis": (METASTASIS_COLUMNS, metastasis_rows),
        "registry_treatment": (TREATMENT_COLUMNS, treatment_rows),
        "registry_historicalcase": (
            (*CASE_COLUMNS, *HISTORY_COLUMNS),
            with_history(history_case, "registry_historicalcase"),
        ),
        "registry_historicalmetastasis": (
            (*METASTASIS_COLUMNS, *HISTORY_COLUMNS),
            with_history(history_metastasis, "registry_historicalmetastasis"),
        ),
        "registry_historicaltreatment": (
            (*TREATMENT_COLUMNS, *HISTORY_COLUMNS),
            with_history(history_treatment, "registry_historicaltreatment"),
        ),
    }


def _case_row(case: SyntheticCase, case_id: int, institution_id: int, now: str) -> str:
    fields = case.fields
    return "\t".join(
        (
            str(case_id),
            str(case.uuid),
            case.local_id,
            local_id_key(case.local_id),
            "hospital",
            "",
            "",
            case.status,
            _text(case.rejection_reason),
            fields["sex"],
            str(fields["age_at_diagnosis"]),
            fields["menopausal_status"],
            str(fields["year_of_diagnosis"]),
            fields["primary_laterality"],
            fields["grade"],
            fields["stage_group"],
            _number(fields["er_percent"]),
            _number(fields["pr_percent"]),
            fields["her2_ihc"],
            fields["her2_ish"],
            _number(fields["ki67_percent"]),
            fields["vital_status"],
            _number(fields["follow_up_months"]),
            "1",
            now,
            str(institution_id),
            fields["primary_morphology"],
            fields["subtype"] or "\\N",
            fields["primary_site"],
            "f",  # synthetic cases raise no soft-edit flag
        )
    )


def _reserve_ids(table: str, count: int, column: str = "id") -> range:
    """`count` consecutive fresh values of the table's id sequence, taken in one step.

    The sequence steps by `count` once, in a transaction of its own: concurrent
    inserts wait a millisecond for the lock instead of drawing ids from our range,
    and a million nextval() calls are saved.
    """
    if count == 0:
        return range(0)
    if not _has_copy():  # SQLite: one writer at a time, so after the last id
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COALESCE(MAX({column}), 0) FROM {table}")
            (last,) = cursor.fetchone()
        return range(last + 1, last + count + 1)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, column])
        (sequence,) = cursor.fetchone()
        cursor.execute(f"ALTER SEQUENCE {sequence} INCREMENT BY {int(count)}")
        cursor.execute("SELECT nextval(%s)", [sequence])
        (last,) = cursor.fetchone()
        cursor.execute(f"ALTER SEQUENCE {sequence} INCREMENT BY 1")
    return range(last - count + 1, last + 1)


def _has_copy() -> bool:
    return connection.vendor == "postgresql"


def _copy(table: str, columns: tuple[str, ...], lines: list[str]) -> None:
    if not lines:
        return
    if not _has_copy():
        _insert(table, columns, lines)
        return
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        block = 2000
        for start in range(0, len(lines), block):
            copy.write("".join(lines[start : start + block]))


def _insert(table: str, columns: tuple[str, ...], lines: list[str]) -> None:
    """The COPY lines as INSERTs, each field made what its model field stores."""
    fields = {field.column: field for field in _TABLE_MODELS[table]()._meta.concrete_fields}
    readers = [_reader(fields[column]) for column in columns]
    rows = [
        [read(raw) for read, raw in zip(readers, line.rstrip("\n").split("\t"), strict=True)]
        for line in lines
    ]
    placeholders = ", ".join(["%s"] * len(columns))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", rows
        )


_TABLE_MODELS = {
    "registry_case": lambda: Case,
    "registry_metastasis": lambda: Metastasis,
    "registry_treatment": lambda: Treatment,
    "registry_historicalcase": lambda: Case.history.model,
    "registry_historicalmetastasis": lambda: Metastasis.history.model,
    "registry_historicaltreatment": lambda: Treatment.history.model,
}
_COPY_ESCAPES = re.compile(r"\\(.)")
_COPY_ESCAPED = {"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}


def _reader(field) -> Callable[[str], object]:
    """A COPY text field (`\\N` for NULL, backslash escapes) as the database value."""

    def read(raw: str):
        if raw == "\\N":
            return None
        text = _COPY_ESCAPES.sub(lambda m: _COPY_ESCAPED.get(m.group(1), m.group(1)), raw)
        value = json.loads(text) if field.get_internal_type() == "JSONField" else text
        return field.get_db_prep_save(field.to_python(value), connection)

    return read


def _number(value: int | None) -> str:
    return "\\N" if value is None else str(value)


_JSON_LISTS: dict[tuple[str, ...], str] = {}


def _json_list(values: list[str]) -> str:
    key = tuple(values)
    text = _JSON_LISTS.get(key)
    if text is None:
        text = _JSON_LISTS[key] = _text(json.dumps(values))
    return text


def _text(value: str) -> str:
    """COPY text format escapes (the generator's own strings never need them)."""
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )
