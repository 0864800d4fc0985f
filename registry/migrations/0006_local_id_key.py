"""Keys that look the same become one key: `local_id_key`, unique per institution.

Existing keys are given their comparison form (registry.case_keys.local_id_key).
If two cases of one institution have keys that now compare equal ("ABC-1" and
"abc-1"), the migration stops and lists them rather than merging anything: a
curator renames or deletes one of each pair (`manage.py check_local_ids` lists
them before migrating, too), then the migration is run again.
"""

from collections import defaultdict

from django.db import connection, migrations, models

import registry.models.case
from registry.case_keys import local_id_key

HELP = "local_id as keys are compared: NFKC, case-folded, look-alikes folded."


def fill_keys(apps, schema_editor):
    """Report clashes before writing anything; then give every row its key."""
    Case = apps.get_model("registry", "Case")
    HistoricalCase = apps.get_model("registry", "HistoricalCase")
    by_key = defaultdict(list)
    for pk, institution, local_id in Case.objects.values_list(
        "pk", "institution__code", "local_id"
    ).order_by("pk"):
        by_key[(institution, local_id_key(local_id))].append((pk, local_id))
    clashes = {key: cases for key, cases in by_key.items() if len(cases) > 1}
    if clashes:
        lines = [
            f"  {institution}: " + ", ".join(f"case id {pk} {local_id!r}" for pk, local_id in cases)
            for (institution, _), cases in sorted(clashes.items())
        ]
        raise RuntimeError(
            "These cases have keys that now compare equal; rename or delete one of each "
            "group (nothing was merged), then migrate again:\n" + "\n".join(lines)
        )
    for model in (Case, HistoricalCase):
        _write_keys(model, schema_editor.connection if schema_editor else connection)


def _write_keys(model, db, chunk: int = 20_000) -> None:
    """Every row's key, a chunk at a time (one UPDATE per chunk on PostgreSQL)."""
    table, pk = db.ops.quote_name(model._meta.db_table), model._meta.pk.column
    rows = model.objects.order_by("pk").values_list("pk", "local_id")
    batch: list[tuple[int, str]] = []
    for row in rows.iterator(chunk_size=chunk):
        batch.append(row)
        if len(batch) == chunk:
            _update(model, db, table, pk, batch)
            batch = []
    if batch:
        _update(model, db, table, pk, batch)


def _update(model, db, table: str, pk: str, batch: list[tuple[int, str]]) -> None:
    ids = [row_id for row_id, _ in batch]
    keys = [local_id_key(local_id) for _, local_id in batch]
    if db.vendor != "postgresql":
        for row_id, key in zip(ids, keys, strict=True):
            model.objects.filter(pk=row_id).update(local_id_key=key)
        return
    with db.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET local_id_key = v.key "
            f"FROM UNNEST(%s::bigint[], %s::text[]) AS v(id, key) WHERE {table}.{pk} = v.id",
            [ids, keys],
        )


class Migration(migrations.Migration):
    dependencies = [("registry", "0005_flags_and_redactions")]

    operations = [
        migrations.AddField(
            model_name="case",
            name="local_id_key",
            field=models.CharField(default="", editable=False, help_text=HELP, max_length=256),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="historicalcase",
            name="local_id_key",
            field=models.CharField(default="", editable=False, help_text=HELP, max_length=256),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="case",
            name="local_id",
            field=registry.models.case.LocalIdField(
                help_text="The submitter's own key for the case.", max_length=64
            ),
        ),
        migrations.AlterField(
            model_name="historicalcase",
            name="local_id",
            field=registry.models.case.LocalIdField(
                help_text="The submitter's own key for the case.", max_length=64
            ),
        ),
        migrations.RunPython(fill_keys, migrations.RunPython.noop),
        migrations.RemoveConstraint(model_name="case", name="case_local_id_per_institution"),
        migrations.AddConstraint(
            model_name="case",
            constraint=models.UniqueConstraint(
                fields=("institution", "local_id_key"), name="case_local_id_key_per_institution"
            ),
        ),
    ]
