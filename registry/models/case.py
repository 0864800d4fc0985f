"""The de-identified case record: a primary cancer, its metastases and treatments.

HIPAA Safe Harbor shapes the fields: no names, record numbers or contact data;
years instead of dates; intervals in months from the primary diagnosis; ages over
89 stored as 90. The rules that need the vocabularies live in `registry.edits`;
what the database can hold by itself is pinned here as constraints.
"""

import secrets
import uuid

from django.db import models
from django.db.models import F, Q
from django.db.models.lookups import EndsWith
from django.db.models.query_utils import DeferredAttribute
from simple_history.models import HistoricalRecords

from registry.case_keys import LOCAL_ID_KEY_MAX, LOCAL_ID_MAX, local_id_key
from registry.disclosure import RECORD_KEYS
from registry.models.choices import (
    Grade,
    Her2Ihc,
    Her2Ish,
    Intent,
    Laterality,
    MenopausalStatus,
    Misdiagnosis,
    Modality,
    Presentation,
    Response,
    ReviewStatus,
    Sex,
    Source,
    StageGroup,
    TreatmentTarget,
    VitalStatus,
)
from registry.models.institution import Institution
from registry.models.vocabulary import Morphology, Subtype, Topography

MAX_AGE = 90  # Safe Harbor: every age over 89 is reported as 90.
# Ages above the cap up to this one are stored as MAX_AGE; above it an age is an error.
MAX_REPORTED_AGE = 120
FIRST_YEAR = 1900
# Work budget of one case, above what any patient record holds: registries and
# autopsy series count distinct metastatic organs in single digits even in
# disseminated disease (synthetic cases: 1-3), and 30 treatments cover many
# lines of therapy. A 1,000-case batch at these caps is still bounded by
# MAX_BATCH_ROWS (registry.services.batch); see docs/limits-and-errors.md.
MAX_METASTASES_PER_CASE = 20
MAX_TREATMENTS_PER_CASE = 30


def new_record_key() -> int:
    """A case's record key for the cell-key method (`registry.disclosure`)."""
    return secrets.randbelow(RECORD_KEYS)


class RandomRecordKey(models.Func):
    """The same draw in SQL, for rows written without the ORM (COPY, plain INSERT)."""

    output_field = models.PositiveSmallIntegerField()

    def as_sql(self, compiler, connection, **extra):
        return f"(floor(random() * {RECORD_KEYS}))::smallint", []

    def as_sqlite(self, compiler, connection, **extra):
        # A bit mask, not `%`, which SQL written into DDL would take for a placeholder.
        return f"(abs(random()) & {RECORD_KEYS - 1})", []


class _LocalIdAttribute(DeferredAttribute):
    """Setting `local_id` sets `local_id_key`: every way a case is built keeps the two in step."""

    def __set__(self, instance, value):
        instance.__dict__[self.field.attname] = value
        instance.__dict__["local_id_key"] = local_id_key(value) if isinstance(value, str) else value


class LocalIdField(models.CharField):
    """The submitter's key; assigning it derives the comparison key (registry.case_keys)."""

    descriptor_class = _LocalIdAttribute


def _percent(name: str) -> Q:
    return Q(**{f"{name}__isnull": True}) | Q(**{f"{name}__gte": 0, f"{name}__lte": 100})


def _not_negative(name: str) -> Q:
    return Q(**{f"{name}__isnull": True}) | Q(**{f"{name}__gte": 0})


class Case(models.Model):
    """One patient's rare metastatic cancer, as submitted by one institution."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="cases")
    local_id = LocalIdField(
        max_length=LOCAL_ID_MAX, help_text="The submitter's own key for the case."
    )
    local_id_key = models.CharField(
        max_length=LOCAL_ID_KEY_MAX,
        editable=False,
        help_text="local_id as keys are compared: NFKC, case-folded, look-alikes folded.",
    )
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.HOSPITAL)
    doi = models.CharField("DOI", max_length=200, blank=True)
    pmid = models.CharField("PMID", max_length=12, blank=True)

    status = models.CharField(
        max_length=16,
        choices=ReviewStatus.choices,
        default=ReviewStatus.SUBMITTED,
        db_index=True,
    )
    rejection_reason = models.TextField(blank=True)

    sex = models.CharField(max_length=8, choices=Sex.choices, default=Sex.UNKNOWN)
    age_at_diagnosis = models.PositiveSmallIntegerField(null=True, blank=True)
    menopausal_status = models.CharField(
        max_length=16,
        choices=MenopausalStatus.choices,
        default=MenopausalStatus.UNKNOWN,
    )
    year_of_diagnosis = models.PositiveSmallIntegerField(null=True, blank=True)

    primary_site = models.ForeignKey(Topography, on_delete=models.PROTECT, related_name="+")
    primary_morphology = models.ForeignKey(Morphology, on_delete=models.PROTECT, related_name="+")
    primary_laterality = models.CharField(
        max_length=16, choices=Laterality.choices, default=Laterality.UNKNOWN
    )
    grade = models.CharField(max_length=2, choices=Grade.choices, default=Grade.GX)
    stage_group = models.CharField(
        max_length=8, choices=StageGroup.choices, default=StageGroup.UNKNOWN
    )

    er_percent = models.PositiveSmallIntegerField("ER %", null=True, blank=True)
    pr_percent = models.PositiveSmallIntegerField("PR %", null=True, blank=True)
    her2_ihc = models.CharField("HER2 IHC", max_length=2, choices=Her2Ihc.choices, blank=True)
    her2_ish = models.CharField("HER2 ISH", max_length=16, choices=Her2Ish.choices, blank=True)
    ki67_percent = models.PositiveSmallIntegerField("Ki-67 %", null=True, blank=True)
    subtype = models.ForeignKey(
        Subtype,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Empty means unknown or not reported.",
    )

    vital_status = models.CharField(
        max_length=8, choices=VitalStatus.choices, default=VitalStatus.UNKNOWN
    )
    follow_up_months = models.PositiveSmallIntegerField(null=True, blank=True)

    record_key = models.PositiveSmallIntegerField(
        default=new_record_key,
        db_default=RandomRecordKey(),
        editable=False,
        help_text="Random and permanent; perturbs published counts (cell-key method).",
    )
    has_open_flags = models.BooleanField(
        default=False,
        db_default=False,
        editable=False,
        help_text="A soft edit awaits a curator's confirmation; not counted until then.",
    )

    linked_duplicate = models.BooleanField(
        default=False,
        db_default=False,
        editable=False,
        help_text="Another report of a person counted through another case (a confirmed link).",
    )

    version = models.PositiveIntegerField(default=1, help_text="Raised on every change (ETag).")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at", "record_key", "linked_duplicate"])

    class Meta:
        ordering = ["-id"]
        constraints = [
            # Keys that look the same are one key (registry.case_keys).
            models.UniqueConstraint(
                fields=["institution", "local_id_key"], name="case_local_id_key_per_institution"
            ),
            models.CheckConstraint(condition=~Q(local_id=""), name="case_local_id_set"),
            models.CheckConstraint(
                condition=Q(age_at_diagnosis__isnull=True) | Q(age_at_diagnosis__lte=MAX_AGE),
                name="case_age_0_90",
            ),
            models.CheckConstraint(
                condition=Q(year_of_diagnosis__isnull=True) | Q(year_of_diagnosis__gte=FIRST_YEAR),
                name="case_year_plausible",
            ),
            models.CheckConstraint(condition=_percent("er_percent"), name="case_er_percent"),
            models.CheckConstraint(condition=_percent("pr_percent"), name="case_pr_percent"),
            models.CheckConstraint(condition=_percent("ki67_percent"), name="case_ki67_percent"),
            models.CheckConstraint(
                condition=_not_negative("follow_up_months"), name="case_follow_up"
            ),
            # Behaviour /6 describes a metastatic deposit, never the primary tumour.
            models.CheckConstraint(
                condition=~Q(EndsWith(F("primary_morphology_id"), "/6")),
                name="case_primary_not_metastatic_behaviour",
            ),
            models.CheckConstraint(
                condition=~Q(status=ReviewStatus.REJECTED) | ~Q(rejection_reason=""),
                name="case_rejection_has_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["primary_site", "status"], name="case_primary_status"),
            models.Index(fields=["subtype", "status"], name="case_subtype_status"),
            # The literature atlas reads the few published cases among a million.
            models.Index(fields=["-id"], condition=Q(source="literature"), name="case_literature"),
        ]

    def __str__(self) -> str:
        return f"{self.institution.code}/{self.local_id}"


class Metastasis(models.Model):
    """A metastatic deposit at one site, with how it presented and was confirmed."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="metastases")
    site = models.ForeignKey(Topography, on_delete=models.PROTECT, related_name="+")
    laterality = models.CharField(
        max_length=16, choices=Laterality.choices, default=Laterality.UNKNOWN
    )
    months_from_primary = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="0 means synchronous with the primary diagnosis.",
    )
    presentation = models.CharField(
        max_length=24, choices=Presentation.choices, default=Presentation.UNKNOWN
    )
    size_mm = models.PositiveIntegerField(null=True, blank=True)
    misdiagnosis = models.CharField(
        max_length=16, choices=Misdiagnosis.choices, default=Misdiagnosis.UNKNOWN
    )
    misdiagnosis_text = models.CharField(max_length=200, blank=True)
    confirmed_by = models.JSONField(
        default=list,
        blank=True,
        help_text='Confirmation methods, e.g. ["histology", "ihc"].',
    )
    morphology = models.ForeignKey(
        Morphology, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["case_id", "id"]
        verbose_name_plural = "metastases"
        constraints = [
            models.CheckConstraint(
                condition=_not_negative("months_from_primary"), name="metastasis_months"
            ),
            models.CheckConstraint(
                condition=Q(size_mm__isnull=True) | Q(size_mm__gt=0),
                name="metastasis_size_positive",
            ),
            models.CheckConstraint(
                condition=Q(morphology__isnull=True) | Q(EndsWith(F("morphology_id"), "/6")),
                name="metastasis_behaviour_6",
            ),
        ]
        indexes = [models.Index(fields=["site", "case"], name="metastasis_site_case")]

    def __str__(self) -> str:
        return f"{self.site_id} ({self.case_id})"


class Treatment(models.Model):
    """A treatment given for the primary, for one metastasis or for the whole disease."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="treatments")
    modality = models.CharField(max_length=16, choices=Modality.choices)
    target = models.CharField(
        max_length=16, choices=TreatmentTarget.choices, default=TreatmentTarget.SYSTEMIC
    )
    metastasis = models.ForeignKey(
        Metastasis,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="treatments",
    )
    intent = models.CharField(max_length=16, choices=Intent.choices, default=Intent.UNKNOWN)
    months_from_primary = models.PositiveSmallIntegerField(null=True, blank=True)
    response = models.CharField(max_length=8, choices=Response.choices, default=Response.UNKNOWN)

    history = HistoricalRecords()

    class Meta:
        ordering = ["case_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=_not_negative("months_from_primary"), name="treatment_months"
            ),
            # A treatment aimed at a metastasis names it; no other target does.
            models.CheckConstraint(
                condition=Q(target=TreatmentTarget.METASTASIS, metastasis__isnull=False)
                | (~Q(target=TreatmentTarget.METASTASIS) & Q(metastasis__isnull=True)),
                name="treatment_metastasis_iff_target",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_modality_display()} ({self.case_id})"
