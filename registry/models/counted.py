"""Metastases as the statistics count them, each with the attributes of its case.

Counting cases per metastatic site joins a million cases to their metastases on
every request. On PostgreSQL this table holds that join already made: one row per
metastasis with its site and the case attributes that the filters of the
statistics test, so a count is a scan of one narrow table. `first_of_case` marks
one row per case, so the number of distinct cases selected comes from the same
scan as the per-site counts.

Triggers written in migration 0003 keep it exact on every path that changes a
case or a metastasis, whatever wrote it (services, admin, COPY, plain SQL): rows
are inserted with their metastases, deleted with them (and with TRUNCATE), and
updated when a counted attribute of their case changes. Nothing in Python writes
it. On SQLite (`make run`) the table does not exist and the statistics join the
base tables instead; see `registry.stats.counting` and `registry.stats.vendors`.

Migration 0004 adds the record key, 0005 `has_open_flags` (soft-edit flags), 0008
`linked_duplicate` (a person counted once), to the copied columns.
"""

from django.db import models

from registry.models.case import Case, Metastasis
from registry.models.institution import Institution
from registry.models.vocabulary import Morphology, Subtype, Topography

# The Case columns copied onto every counted metastasis, by the same names.
COUNTED_CASE_FIELDS = (
    "status",
    "source",
    "institution",
    "sex",
    "age_at_diagnosis",
    "year_of_diagnosis",
    "primary_site",
    "primary_morphology",
    "subtype",
    "record_key",
    "has_open_flags",
    "linked_duplicate",
)


class CountedMetastasis(models.Model):
    """A metastasis with its case's counted attributes (PostgreSQL only, kept by triggers)."""

    # Relations without database constraints: the triggers, not foreign keys, keep
    # the rows in step, and the relations exist for the ORM's lookups (site__site_group).
    metastasis = models.OneToOneField(
        Metastasis, primary_key=True, on_delete=models.DO_NOTHING, db_constraint=False
    )
    case = models.ForeignKey(
        Case, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    site = models.ForeignKey(
        Topography, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    first_of_case = models.BooleanField(help_text="True on exactly one row of each case.")
    status = models.CharField(max_length=16)
    source = models.CharField(max_length=16)
    institution = models.ForeignKey(
        Institution, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    sex = models.CharField(max_length=8)
    age_at_diagnosis = models.PositiveSmallIntegerField(null=True)
    year_of_diagnosis = models.PositiveSmallIntegerField(null=True)
    primary_site = models.ForeignKey(
        Topography, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    primary_morphology = models.ForeignKey(
        Morphology, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    subtype = models.ForeignKey(
        Subtype, null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    record_key = models.PositiveSmallIntegerField()
    has_open_flags = models.BooleanField(default=False)  # copied by migration 0005's triggers
    linked_duplicate = models.BooleanField(default=False)  # copied by migration 0008's triggers

    class Meta:
        managed = False  # created, filled and kept by migration 0003's SQL
        db_table = "registry_countedmetastasis"
        verbose_name_plural = "counted metastases"

    def __str__(self) -> str:
        return f"metastasis {self.metastasis_id} of case {self.case_id} at {self.site_id}"
