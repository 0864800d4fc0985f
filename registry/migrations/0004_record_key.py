"""A permanent random record key per case, for the cell-key method (registry.disclosure).

The key is drawn once, when the case is stored, and never changes: a published
count is perturbed by a function of the sum of the keys of exactly the cases in
it. The counted metastases (migration 0003) carry it too, so that the
statistics sum it in the same scan; the trigger functions are replaced by ones
that copy it with the other case columns.
"""

import importlib

from django.db import migrations, models

import registry.models.case

counted = importlib.import_module("registry.migrations.0003_counted_metastasis")
COUNTED = counted.COUNTED
COLUMNS = counted.CASE_COLUMNS + ", record_key"
_names = [name.strip() for name in COLUMNS.split(",")]
CASE_CHANGED = " OR ".join(f"f.{column} IS DISTINCT FROM c.{column}" for column in _names)
CASE_SET = ", ".join(f"{column} = c.{column}" for column in _names)


def _functions(columns: str, case_set: str, case_changed: str) -> str:
    """The trigger functions that copy case columns, written for `columns`."""
    insert = counted._insert_rows
    return "\n".join(
        [
            counted._function(
                "registry_counted_metastases_inserted",
                insert("new_metastases", "registry_case", columns=columns),
            ),
            counted._function(
                "registry_counted_metastases_updated",
                counted._delete_rows("old_metastases")
                + insert("new_metastases", "registry_case", columns=columns),
            ),
            counted._function(
                "registry_counted_cases_inserted",
                insert(
                    "registry_metastasis",
                    "new_cases",
                    f"WHERE NOT EXISTS (SELECT 1 FROM {COUNTED} f WHERE f.metastasis_id = m.id)",
                    columns=columns,
                ),
            ),
            counted._function(
                "registry_counted_cases_updated",
                f"UPDATE {COUNTED} f SET {case_set} FROM new_cases c "
                f"WHERE f.case_id = c.id AND ({case_changed});",
            ),
        ]
    )


FORWARD = f"""
ALTER TABLE {COUNTED} ADD COLUMN record_key smallint;
UPDATE {COUNTED} f SET record_key = c.record_key FROM registry_case c WHERE c.id = f.case_id;
ALTER TABLE {COUNTED} ALTER COLUMN record_key SET NOT NULL;
{_functions(COLUMNS, CASE_SET, CASE_CHANGED)}
"""

BACKWARD = f"""
{_functions(counted.CASE_COLUMNS, counted.CASE_SET, counted.CASE_CHANGED)}
ALTER TABLE {COUNTED} DROP COLUMN record_key;
"""


class Migration(migrations.Migration):
    dependencies = [("registry", "0003_counted_metastasis")]

    operations = [
        migrations.AddField(
            model_name="case",
            name="record_key",
            field=models.PositiveSmallIntegerField(
                db_default=registry.models.case.RandomRecordKey(),
                default=registry.models.case.new_record_key,
                editable=False,
                help_text="Random and permanent; perturbs published counts (cell-key method).",
            ),
        ),
        migrations.AddField(
            model_name="countedmetastasis",
            name="record_key",
            field=models.PositiveSmallIntegerField(),
        ),
        migrations.RunPython(
            counted._on_postgresql(FORWARD), counted._on_postgresql(BACKWARD), elidable=False
        ),
    ]
