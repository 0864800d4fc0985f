"""A release's rows: copied set-based, read through the same SQL as the live data, never changed.

A release copies every table a statistic reads, under the live tables' names:
the counted cases (verified, no open flag), their metastases and treatments, the
counted metastases (PostgreSQL) and the vocabularies and institutions they
refer to, so a curator later renaming a site group or fixing a code does not
move a release's counts. Reading a release then needs no second version of the
statistics: within `reading(release)` the unqualified table names resolve to
the release's copies.

- PostgreSQL: a schema per release; `reading` puts it first on the transaction's
  `search_path` (SET LOCAL, so a pooled connection never keeps it). The copies
  get the live tables' indexes, built after the rows are in, and ANALYZE, so a
  release count runs the same plan as a live one over fewer, unfragmented rows.
  A statement trigger refuses any write to them.
- SQLite (`make run`): tables prefixed with the release's storage name in the
  same file; `reading` shadows the live names with TEMP views, which SQLite
  resolves before the main schema.

Free text that counts nothing (a rejection reason, what a misdiagnosis was
called in words) is left blank in the copy: a release is no second place a
redacted identifier could survive.
"""

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import DatabaseError, OperationalError, connections, router, transaction
from django.db.models import Model

from registry.access import ReleaseRetired, counted_by_analysts
from registry.models import (
    Case,
    CountedMetastasis,
    Institution,
    Metastasis,
    Morphology,
    Release,
    Subtype,
    Topography,
    Treatment,
    VocabularyRelease,
)

# Columns copied blank: free text no statistic reads.
BLANKED = {
    Case._meta.db_table: ("rejection_reason",),
    Metastasis._meta.db_table: ("misdiagnosis_text",),
}

_STORAGE = re.compile(r"[a-z][a-z0-9_]{0,40}")


@dataclass(frozen=True)
class Copied:
    """One table of a release: its model and which of the live table's rows it holds."""

    model: type[Model]
    of_counted_cases: str | None  # the column naming the case; None: every row
    postgresql_only: bool = False

    @property
    def table(self) -> str:
        return self.model._meta.db_table

    @property
    def pk(self) -> str:
        return self.model._meta.pk.column

    def where(self) -> tuple[str, list]:
        """The WHERE clause selecting the rows to copy, and its parameters."""
        if self.of_counted_cases is None:
            return "", []
        # What analysts count, from the access policy itself, as SQL.
        cases = Case.objects.filter(counted_by_analysts()).values("pk").order_by()
        sql, params = cases.query.sql_with_params()
        return f"WHERE {self.of_counted_cases} IN ({sql})", list(params)


TABLES = (
    Copied(Case, "id"),
    Copied(Metastasis, "case_id"),
    Copied(Treatment, "case_id"),
    Copied(CountedMetastasis, "case_id", postgresql_only=True),
    Copied(Topography, None),
    Copied(Morphology, None),
    Copied(Subtype, None),
    Copied(Institution, None),
    # With the vocabularies' load times, the in-process vocabulary cache, keyed on the
    # newest load (`registry.vocabularies`), tells a release's vocabularies from the live ones.
    Copied(VocabularyRelease, None),
)


def database() -> str:
    """The database alias releases are written to (the primary)."""
    return router.db_for_write(Release)


def storage_name(name: str) -> str:
    """Where a release named `name` keeps its rows: 2026.4 -> release_2026_4."""
    storage = "release_" + re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    if not _STORAGE.fullmatch(storage):
        raise ValueError(f"No storage name for release {name!r}.")
    return storage


def _postgresql(alias: str) -> bool:
    return connections[alias].vendor == "postgresql"


def tables(alias: str) -> tuple[Copied, ...]:
    return tuple(t for t in TABLES if _postgresql(alias) or not t.postgresql_only)


def qualified(storage: str, table: str, alias: str) -> str:
    """The SQL name of a release's copy of `table`."""
    if _postgresql(alias):
        return f'"{storage}"."{table}"'
    return f'"{storage}__{table}"'


# ---------------------------------------------------------------- copying


def copy(storage: str, alias: str) -> None:
    """Copy the counted rows into a release's tables (within the caller's transaction).

    Copies left under the same storage name by a release whose record is gone (a
    `flush`, or a test database emptied between tests) are dropped first: no
    Release names them, so nothing can count them.
    """
    drop(storage, alias)
    with connections[alias].cursor() as cursor:
        if _postgresql(alias):
            _copy_postgresql(cursor, storage, alias)
        else:
            _copy_sqlite(cursor, storage, alias)


def _select_list(copied: Copied, columns: list[str]) -> str:
    blank = BLANKED.get(copied.table, ())
    return ", ".join(f"'' AS {c}" if c in blank else f'"{c}"' for c in columns)


def _live_columns(cursor, table: str) -> list[str]:
    cursor.execute(f"SELECT * FROM {table} LIMIT 0")
    return [column[0] for column in cursor.description]


def _copy_postgresql(cursor, storage: str, alias: str) -> None:
    cursor.execute(f'CREATE SCHEMA "{storage}"')
    cursor.execute("SELECT current_schema()")
    (live_schema,) = cursor.fetchone()
    for copied in tables(alias):
        target = qualified(storage, copied.table, alias)
        columns = _live_columns(cursor, copied.table)
        cursor.execute(f"CREATE TABLE {target} (LIKE {copied.table} INCLUDING DEFAULTS)")
        where, params = copied.where()
        names = ", ".join(f'"{c}"' for c in columns)
        cursor.execute(
            f"INSERT INTO {target} ({names}) "
            f"SELECT {_select_list(copied, columns)} FROM {copied.table} {where}",
            params,
        )
        # The live table's indexes (primary key included), built once the rows are in.
        cursor.execute(
            "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relname = %s AND n.nspname = %s",
            [copied.table, live_schema],
        )
        for (definition,) in cursor.fetchall():
            on_live = f" ON {live_schema}.{copied.table} "
            cursor.execute(definition.replace(on_live, f" ON {target} ", 1))
        cursor.execute(f"ANALYZE {target}")
    _refuse_writes(cursor, storage, alias)


def _refuse_writes(cursor, storage: str, alias: str) -> None:
    """A statement trigger on every copy: a release is immutable, whoever tries."""
    cursor.execute(
        f'CREATE FUNCTION "{storage}".refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ '
        "BEGIN RAISE EXCEPTION 'release % is immutable', TG_TABLE_SCHEMA; END $$"
    )
    for copied in tables(alias):
        cursor.execute(
            "CREATE TRIGGER release_immutable BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {qualified(storage, copied.table, alias)} "
            f'FOR EACH STATEMENT EXECUTE FUNCTION "{storage}".refuse_change()'
        )


def _copy_sqlite(cursor, storage: str, alias: str) -> None:
    for copied in tables(alias):
        target = qualified(storage, copied.table, alias)
        columns = _live_columns(cursor, copied.table)
        where, params = copied.where()
        cursor.execute(
            f"CREATE TABLE {target} AS SELECT {_select_list(copied, columns)} "
            f"FROM {copied.table} {where}",
            params,
        )
        if "case_id" in columns:
            cursor.execute(f'CREATE INDEX "{storage}__{copied.table}_case" ON {target} (case_id)')


def settle(storage: str, alias: str) -> None:
    """VACUUM (FREEZE, ANALYZE) each copy: after the copy's transaction has committed.

    Rows never change again, so they are frozen once and every page marked
    all-visible: index-only scans then skip the table, as they do on the live
    tables that autovacuum keeps, so a release count costs no more than a live one.
    VACUUM cannot run in a transaction; on SQLite there is nothing to do.
    """
    connection = connections[alias]
    if not _postgresql(alias) or connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        for copied in tables(alias):
            cursor.execute(f"VACUUM (FREEZE, ANALYZE) {qualified(storage, copied.table, alias)}")


def drop(storage: str, alias: str) -> None:
    """Remove a release's rows (retirement frees its storage; the Release row stays)."""
    with connections[alias].cursor() as cursor:
        if _postgresql(alias):
            cursor.execute(f'DROP SCHEMA IF EXISTS "{storage}" CASCADE')
            return
        for copied in tables(alias):
            cursor.execute(f"DROP TABLE IF EXISTS {qualified(storage, copied.table, alias)}")


# ---------------------------------------------------------------- reading


@contextmanager
def reading(release: Release | None) -> Iterator[None]:
    """Within this block, the statistics read `release`'s rows (None: the live tables).

    Set on every database a statistic may read from (the replica router may
    choose one for the counted metastases): the copies reach a replica by
    replication, as everything else does.
    """
    if release is None:
        yield
        return
    aliases = {router.db_for_read(Case), router.db_for_read(CountedMetastasis)}
    try:
        with _reading_all(release.storage, sorted(aliases)):
            yield
    except DatabaseError:
        # Retired (its rows dropped) between choosing it and reading it: a 410, not a 500.
        release.refresh_from_db()
        if release.retired:
            raise ReleaseRetired(release) from None
        raise


@contextmanager
def _reading_all(storage: str, aliases: list[str]) -> Iterator[None]:
    if not aliases:
        yield
        return
    with _reading_one(storage, aliases[0]), _reading_all(storage, aliases[1:]):
        yield


@contextmanager
def _reading_one(storage: str, alias: str) -> Iterator[None]:
    connection = connections[alias]
    if _postgresql(alias):
        nested = connection.in_atomic_block
        with transaction.atomic(using=alias), connection.cursor() as cursor:
            if nested:  # a savepoint: the setting must be put back when the block ends
                cursor.execute("SELECT current_setting('search_path')")
                (previous,) = cursor.fetchone()
            # One statement, one round trip. Each copy is locked until the transaction
            # ends: a retirement's DROP waits for this count, and a release already dropped
            # is an error here, never a silent fall through to the live tables of the same
            # names further along the search path. (`storage` is [a-z0-9_], checked.)
            copies = ", ".join(qualified(storage, t.table, alias) for t in tables(alias))
            cursor.execute(
                f"DO $$ BEGIN LOCK TABLE {copies} IN ACCESS SHARE MODE; "
                f"PERFORM set_config('search_path', "
                f"'\"{storage}\", ' || current_setting('search_path'), true); END $$"
            )
            yield
            # Reached without an error only: an error rolls the block back, and the
            # setting with it; COMMIT ends a SET LOCAL of the outermost block.
            if nested:
                cursor.execute("SELECT set_config('search_path', %s, true)", [previous])
        return
    with connection.cursor() as cursor:
        for copied in tables(alias):
            cursor.execute(
                f'CREATE TEMP VIEW "{copied.table}" AS '
                f"SELECT * FROM main.{qualified(storage, copied.table, alias)}"
            )
        try:
            yield
        finally:
            for copied in tables(alias):
                cursor.execute(f'DROP VIEW IF EXISTS temp."{copied.table}"')


# ---------------------------------------------------------------- checksum and size

_CHUNK = 20_000


def checksum(storage: str, alias: str) -> str:
    """sha256 over every row of every copy, in primary-key order: the same rows, the same sum.

    PostgreSQL hashes each table in SQL: the md5 of each row's text, in key order,
    hashed again with sha256 (32 bytes a row: 50 MB at 1.6 million metastases,
    far below a text value's 1 GB). Elsewhere, rows are read in chunks by key and
    hashed in Python, so a million cases never sit in memory at once.
    """
    digest = hashlib.sha256()
    with connections[alias].cursor() as cursor:
        for copied in tables(alias):
            digest.update(f"\x1e{copied.table}\x1e".encode())
            target = qualified(storage, copied.table, alias)
            if _postgresql(alias):
                cursor.execute(
                    "SELECT encode(sha256(convert_to(COALESCE(string_agg(md5(t::text), '' "
                    f"ORDER BY t.\"{copied.pk}\"), ''), 'UTF8')), 'hex') FROM {target} t"
                )
                digest.update(cursor.fetchone()[0].encode())
                continue
            last = None
            while True:
                after = "" if last is None else f'WHERE "{copied.pk}" > %s'
                cursor.execute(
                    f'SELECT * FROM {target} {after} ORDER BY "{copied.pk}" LIMIT {_CHUNK}',
                    [] if last is None else [last],
                )
                rows = cursor.fetchall()
                if not rows:
                    break
                pk_index = [column[0] for column in cursor.description].index(copied.pk)
                for row in rows:
                    digest.update(("\x1f".join(map(str, row)) + "\n").encode())
                last = rows[-1][pk_index]
    return "sha256:" + digest.hexdigest()


def size_in_bytes(storage: str, alias: str) -> int | None:
    """The copies' size on disk with their indexes (None where the database cannot tell)."""
    with connections[alias].cursor() as cursor:
        if _postgresql(alias):
            cursor.execute(
                "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s "
                "AND c.relkind = 'r'",
                [storage],
            )
            return int(cursor.fetchone()[0])
        try:
            cursor.execute("SELECT SUM(pgsize) FROM dbstat WHERE name LIKE %s", [f"{storage}__%"])
        except OperationalError:  # SQLite built without the dbstat table
            return None
        found = cursor.fetchone()[0]
        return int(found) if found is not None else None


@dataclass(frozen=True)
class Made:
    """What making a release's copies measured."""

    cases: int
    metastases: int
    checksum: str
    storage_bytes: int | None


def make(storage: str, alias: str) -> Made:
    """Copy, count, checksum and size a release's rows (within the caller's transaction)."""
    copy(storage, alias)
    with connections[alias].cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {qualified(storage, Case._meta.db_table, alias)}")
        (cases,) = cursor.fetchone()
        cursor.execute(
            f"SELECT COUNT(*) FROM {qualified(storage, Metastasis._meta.db_table, alias)}"
        )
        (metastases,) = cursor.fetchone()
    return Made(
        cases=cases,
        metastases=metastases,
        checksum=checksum(storage, alias),
        storage_bytes=size_in_bytes(storage, alias),
    )
