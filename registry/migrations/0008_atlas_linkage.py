"""The literature atlas's citations, linkage candidates, and a person counted once.

`Case.linked_duplicate` marks a case whose person is counted through another
case (a curator confirmed that both report one patient). Statistics read the
counted metastases, which copy case columns through the triggers of migration
0003, so the column joins the copied ones exactly as 0005 added
`has_open_flags`: the column is added (false everywhere) and the four trigger
functions that name the copied columns are replaced by the same functions over
the longer list. PostgreSQL only, as in 0003.
"""

import importlib

import django.db.models.deletion
import django.db.models.functions.text
from django.conf import settings
from django.db import migrations, models


flags_migration = importlib.import_module("registry.migrations.0005_flags_and_redactions")
COUNTED = flags_migration.COUNTED
CASE_COLUMNS_0008 = (*flags_migration.CASE_COLUMNS_0005, "linked_duplicate")

FORWARD = f"""
ALTER TABLE {COUNTED} ADD COLUMN linked_duplicate boolean NOT NULL DEFAULT false;
{flags_migration._functions(CASE_COLUMNS_0008)}
"""

BACKWARD = f"""
{flags_migration._functions(flags_migration.CASE_COLUMNS_0005)}
ALTER TABLE {COUNTED} DROP COLUMN linked_duplicate;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0007_cache_table"),
    ]

    operations = [
        migrations.AddField(
            model_name="case",
            name="linked_duplicate",
            field=models.BooleanField(
                db_default=False,
                default=False,
                editable=False,
                help_text="Another report of a person counted through another case (a confirmed link).",
            ),
        ),
        migrations.CreateModel(
            name="Citation",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("doi", models.CharField(blank=True, max_length=200, verbose_name="DOI")),
                ("pmid", models.CharField(blank=True, max_length=12, verbose_name="PMID")),
                ("title", models.TextField()),
                ("journal", models.CharField(blank=True, max_length=300)),
                ("year", models.PositiveSmallIntegerField(blank=True, null=True)),
                (
                    "authors",
                    models.JSONField(
                        blank=True, default=list, help_text="Names as the record gives them."
                    ),
                ),
                (
                    "affiliations",
                    models.TextField(
                        blank=True, help_text="The authors' institutions, for record linkage."
                    ),
                ),
                ("abstract", models.TextField(blank=True)),
                (
                    "record_format",
                    models.CharField(
                        choices=[
                            ("pubmed_xml", "PubMed XML"),
                            ("medline", "MEDLINE text"),
                            ("crossref", "Crossref JSON"),
                        ],
                        max_length=16,
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "ordering": ["-year", "id"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("doi", ""), _negated=True),
                            models.Q(("pmid", ""), _negated=True),
                            _connector="OR",
                        ),
                        name="citation_has_id",
                    ),
                    models.UniqueConstraint(
                        django.db.models.functions.text.Lower("doi"),
                        condition=models.Q(("doi", ""), _negated=True),
                        name="citation_doi_unique",
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("pmid", ""), _negated=True),
                        fields=("pmid",),
                        name="citation_pmid_unique",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="LinkCandidate",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("match_probability", models.FloatField()),
                ("match_weight", models.FloatField(help_text="log2 Bayes factor, Fellegi-Sunter.")),
                (
                    "agreements",
                    models.JSONField(
                        default=dict,
                        help_text="Per compared fact, the level the pair reached (for the reviewer).",
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Awaiting review"),
                            ("confirmed", "Same patient"),
                            ("rejected", "Different patients"),
                        ],
                        db_index=True,
                        default="pending",
                        max_length=16,
                    ),
                ),
                ("reviewed_at", models.DateTimeField(blank=True, null=True)),
                ("review_reason", models.TextField(blank=True)),
                ("found_at", models.DateTimeField(auto_now_add=True)),
                (
                    "case_a",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="registry.case",
                    ),
                ),
                (
                    "case_b",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="registry.case",
                    ),
                ),
                (
                    "reviewed_by",
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
                "ordering": ["-match_probability", "id"],
                "constraints": [
                    models.UniqueConstraint(fields=("case_a", "case_b"), name="link_pair_once"),
                    models.CheckConstraint(
                        condition=models.Q(("case_a__lt", models.F("case_b"))),
                        name="link_lower_id_first",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("status", "pending"),
                            models.Q(
                                ("reviewed_at__isnull", False), ("reviewed_by__isnull", False)
                            ),
                            _connector="OR",
                        ),
                        name="link_review_complete",
                    ),
                ],
            },
        ),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(
                condition=models.Q(("source", "literature")),
                fields=["-id"],
                name="case_literature",
            ),
        ),
        migrations.RunPython(
            flags_migration._on_postgresql(FORWARD),
            flags_migration._on_postgresql(BACKWARD),
            elidable=False,
        ),
    ]
