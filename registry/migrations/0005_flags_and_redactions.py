"""Soft-edit flags (CaseFlag, Case.has_open_flags), redaction records, and the flag in the
counted metastases.

Statistics read `registry_countedmetastasis`, whose rows copy case columns through
the triggers of migration 0003 (and 0004's record key). A case with an open flag
must not count for non-curators until a curator confirms it, so `has_open_flags` joins the copied
columns: the column is added (false, as every case is at this point) and the four
trigger functions that name the copied columns are replaced by the same functions
over the longer column list. The triggers themselves, the deletion and TRUNCATE
functions are unchanged. PostgreSQL only, as in 0003.
"""

import importlib

import django.db.models.deletion
import django.utils.timezone
import simple_history.models
from django.conf import settings
from django.db import migrations, models

COUNTED = "registry_countedmetastasis"
# 0003's copied columns, then this migration's.
CASE_COLUMNS_0003 = (
    "status",
    "source",
    "institution_id",
    "sex",
    "age_at_diagnosis",
    "year_of_diagnosis",
    "primary_site_id",
    "primary_morphology_id",
    "subtype_id",
)
CASE_COLUMNS_0004 = (*CASE_COLUMNS_0003, "record_key")  # 0004_record_key
CASE_COLUMNS_0005 = (*CASE_COLUMNS_0004, "has_open_flags")


# The trigger functions are written by 0004's builder (itself 0003's, over more columns).
record_key_migration = importlib.import_module("registry.migrations.0004_record_key")


def _functions(columns: tuple[str, ...]) -> str:
    """The trigger functions of 0003 that copy case columns, over `columns`."""
    changed = " OR ".join(f"f.{column} IS DISTINCT FROM c.{column}" for column in columns)
    assigned = ", ".join(f"{column} = c.{column}" for column in columns)
    return record_key_migration._functions(", ".join(columns), assigned, changed)


FORWARD = f"""
ALTER TABLE {COUNTED} ADD COLUMN has_open_flags boolean NOT NULL DEFAULT false;
UPDATE {COUNTED} f SET has_open_flags = c.has_open_flags
FROM registry_case c WHERE f.case_id = c.id AND c.has_open_flags;
{_functions(CASE_COLUMNS_0005)}
"""

BACKWARD = f"""
{_functions(CASE_COLUMNS_0004)}
ALTER TABLE {COUNTED} DROP COLUMN has_open_flags;
"""


def _on_postgresql(sql: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0004_record_key"),
    ]

    operations = [
        migrations.AddField(
            model_name="case",
            name="has_open_flags",
            field=models.BooleanField(
                db_default=False,
                default=False,
                editable=False,
                help_text="A soft edit awaits a curator's confirmation; not counted until then.",
            ),
        ),
        migrations.AddField(
            model_name="historicalcase",
            name="has_open_flags",
            field=models.BooleanField(
                db_default=False,
                default=False,
                editable=False,
                help_text="A soft edit awaits a curator's confirmation; not counted until then.",
            ),
        ),
        migrations.CreateModel(
            name="HistoricalCaseFlag",
            fields=[
                (
                    "id",
                    models.BigIntegerField(
                        auto_created=True, blank=True, db_index=True, verbose_name="ID"
                    ),
                ),
                (
                    "code",
                    models.CharField(
                        choices=[
                            (
                                "sex_site",
                                "Sex-specific primary site in a patient recorded as the other sex",
                            ),
                            (
                                "age_site_morphology",
                                "Age unusual for the primary's site and histology",
                            ),
                            ("site_morphology", "Histology unusual for the primary site"),
                            (
                                "metastasis_histology",
                                "Metastasis histology of another family than the primary's",
                            ),
                        ],
                        max_length=32,
                    ),
                ),
                (
                    "field",
                    models.CharField(
                        help_text="Path of the field, e.g. primary_morphology.", max_length=64
                    ),
                ),
                (
                    "message",
                    models.TextField(help_text="What is unusual, with the values that raised it."),
                ),
                ("raised_at", models.DateTimeField()),
                ("confirmed_at", models.DateTimeField(blank=True, null=True)),
                ("confirmation_reason", models.TextField(blank=True)),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                (
                    "history_type",
                    models.CharField(
                        choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1
                    ),
                ),
                (
                    "case",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="registry.case",
                    ),
                ),
                (
                    "confirmed_by",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "history_user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "historical case flag",
                "verbose_name_plural": "historical case flags",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name="Redaction",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "case_uuid",
                    models.UUIDField(db_index=True, help_text="Kept when the case is deleted."),
                ),
                (
                    "fields",
                    models.JSONField(
                        help_text='Fields redacted, e.g. ["local_id", "misdiagnosis_text"].'
                    ),
                ),
                ("reason", models.CharField(blank=True, max_length=200)),
                ("redacted_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "rows_rewritten",
                    models.PositiveIntegerField(
                        default=0,
                        help_text="Rows changed: the case, its parts and their history rows.",
                    ),
                ),
                (
                    "case",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="redactions",
                        to="registry.case",
                    ),
                ),
                (
                    "redacted_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-redacted_at", "-id"],
            },
        ),
        migrations.CreateModel(
            name="CaseFlag",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "code",
                    models.CharField(
                        choices=[
                            (
                                "sex_site",
                                "Sex-specific primary site in a patient recorded as the other sex",
                            ),
                            (
                                "age_site_morphology",
                                "Age unusual for the primary's site and histology",
                            ),
                            ("site_morphology", "Histology unusual for the primary site"),
                            (
                                "metastasis_histology",
                                "Metastasis histology of another family than the primary's",
                            ),
                        ],
                        max_length=32,
                    ),
                ),
                (
                    "field",
                    models.CharField(
                        help_text="Path of the field, e.g. primary_morphology.", max_length=64
                    ),
                ),
                (
                    "message",
                    models.TextField(help_text="What is unusual, with the values that raised it."),
                ),
                ("raised_at", models.DateTimeField()),
                ("confirmed_at", models.DateTimeField(blank=True, null=True)),
                ("confirmation_reason", models.TextField(blank=True)),
                (
                    "case",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="flags",
                        to="registry.case",
                    ),
                ),
                (
                    "confirmed_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["case_id", "id"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(
                                ("confirmed_at__isnull", True),
                                ("confirmed_by__isnull", True),
                                ("confirmation_reason", ""),
                            ),
                            models.Q(
                                ("confirmed_at__isnull", False),
                                ("confirmed_by__isnull", False),
                                models.Q(("confirmation_reason", ""), _negated=True),
                            ),
                            _connector="OR",
                        ),
                        name="caseflag_confirmation_complete",
                    )
                ],
            },
        ),
        migrations.RunPython(_on_postgresql(FORWARD), _on_postgresql(BACKWARD), elidable=False),
    ]
