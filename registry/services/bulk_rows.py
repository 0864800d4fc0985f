"""Many rows in one statement, with the values the ORM would write (PostgreSQL).

Django's bulk_create and bulk_update, and simple_history's bulk_history_create,
spend more Python per value than the database spends storing it: a compiler pass
per value, a CASE WHEN per field and row, a historical instance per row. Here a
table gets one `INSERT ... SELECT FROM UNNEST` (or `UPDATE ... FROM VALUES`) with
one array per column. On other databases (SQLite under `make run`) the ORM's bulk
methods write the same values. `tests/test_bulk_writes.py` holds these to them.
"""

from django.db import connection, transaction
from simple_history.utils import bulk_create_with_history

from registry.models import User

# Field types whose Python values psycopg adapts as they are (the others, JSON
# above all, go through get_db_prep_save).
_PLAIN_COLUMNS = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "BigIntegerField",
        "CharField",
        "DateTimeField",
        "ForeignKey",
        "IntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "SmallIntegerField",
        "TextField",
        "UUIDField",
    }
)


def _column_arrays(fields, rows: list) -> tuple[list[str], list[list], list[str]]:
    """(quoted column names, one array of the rows' values per column, SQL types)."""
    quote = connection.ops.quote_name
    columns, arrays, types = [], [], []
    for field in fields:
        columns.append(quote(field.column))
        types.append(field.db_type(connection))
        attname = field.attname
        if field.get_internal_type() in _PLAIN_COLUMNS:
            # Validated values of these types are what the database takes as they are.
            arrays.append([getattr(row, attname) for row in rows])
        else:
            arrays.append(
                [field.get_db_prep_save(getattr(row, attname), connection) for row in rows]
            )
    return columns, arrays, types


def _unnest(types: list[str]) -> str:
    return ", ".join(f"%s::{db_type}[]" for db_type in types)


def insert_rows(model, rows: list, now) -> None:
    """`bulk_create(rows)`: one INSERT, the ids set on the rows in order, rows marked saved.

    Automatic timestamps (auto_now, auto_now_add) take `now`, the time of the
    rows' history. Only for PostgreSQL, which returns the ids.
    """
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    for field in fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            for row in rows:
                setattr(row, field.attname, now)
    columns, arrays, types = _column_arrays(fields, rows)
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(columns)}) "
            f"SELECT * FROM UNNEST({_unnest(types)}) RETURNING {quote(model._meta.pk.column)}",
            arrays,
        )
        ids = [pk for (pk,) in cursor.fetchall()]
    for row, pk in zip(rows, ids, strict=True):
        row.pk = pk
        row._state.adding = False
        row._state.db = connection.alias


def create_with_history(model, rows: list, actor: User | None, now) -> None:
    """Insert the rows (ids come back) and their '+' history rows (change reason None)."""
    if connection.vendor != "postgresql":  # no ids back from bulk_create on SQLite
        bulk_create_with_history(rows, model, default_user=actor, default_date=now)
        return
    with transaction.atomic(savepoint=False):
        insert_rows(model, rows, now)
        insert_history(model, rows, "+", actor, now, reason=None)


def update_rows(model, rows: list, attnames: list[str]) -> None:
    """`bulk_update(rows, attnames)` as one UPDATE ... FROM (VALUES ...)."""
    if connection.vendor != "postgresql":
        model.objects.bulk_update(rows, attnames)
        return
    fields = [model._meta.get_field(attname) for attname in attnames]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = [quote(field.column) for field in fields]
    assignments = ", ".join(
        f"{column} = v.{column}::{field.db_type(connection)}"
        for column, field in zip(columns, fields, strict=True)
    )
    row_values = f"({', '.join(['%s'] * (len(fields) + 1))})"
    params = []
    for row in rows:
        params.append(row.pk)
        params += [
            field.get_db_prep_save(getattr(row, field.attname), connection) for field in fields
        ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {assignments} "
            f"FROM (VALUES {', '.join([row_values] * len(rows))}) AS v(id, {', '.join(columns)}) "
            f"WHERE {table}.id = v.id",
            params,
        )


def insert_history(
    model, rows: list, history_type: str, actor: User | None, now, reason: str | None
) -> None:
    """History rows for `rows` as simple_history's bulk_history_create makes them.

    The same values: tracked fields, date, user (the row's `_history_user`, else
    `actor`, else simple_history's default, the request's user), reason and type.
    """
    if not rows:
        return
    history = model.history.model
    users = [
        getattr(row, "_history_user", actor or history.get_default_history_user(row))
        for row in rows
    ]
    if connection.vendor != "postgresql":
        history.objects.bulk_create(
            [
                history(
                    history_date=now,
                    history_user=user,
                    history_type=history_type,
                    history_change_reason=reason,
                    **{f.attname: getattr(row, f.attname) for f in history.tracked_fields},
                )
                for row, user in zip(rows, users, strict=True)
            ]
        )
        return
    by_attname = {field.attname: field for field in history._meta.concrete_fields}
    tracked = [by_attname[field.attname] for field in history.tracked_fields]
    columns, arrays, types = _column_arrays(tracked, rows)
    quote = connection.ops.quote_name
    columns += [quote(name) for name in ("history_user_id", "history_date")]
    columns += [quote(name) for name in ("history_change_reason", "history_type")]
    arrays.append([getattr(user, "pk", None) for user in users])
    types.append(by_attname["history_user_id"].db_type(connection))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(history._meta.db_table)} ({', '.join(columns)}) "
            f"SELECT *, %s::timestamptz, %s::varchar, %s::varchar FROM UNNEST({_unnest(types)})",
            [now, reason, history_type, *arrays],
        )
