"""Coded vocabularies: ICD-O-3 topography and morphology, molecular subtypes.

Codes are the primary keys, so a case row holds "C44.4" itself: API input and
output need no lookups and aggregates group on the code without a join.
"""

from django.db import models

from registry.models.choices import Behaviour


class VocabularyRelease(models.Model):
    """Provenance of one load of a vocabulary: where it came from and which version."""

    vocabulary = models.CharField(max_length=32)
    source = models.CharField(max_length=500)
    version = models.CharField(max_length=100)
    sha256 = models.CharField(max_length=64, help_text="Digest of the loaded files.")
    loaded_at = models.DateTimeField(auto_now_add=True)
    rows_created = models.PositiveIntegerField(default=0)
    rows_updated = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-loaded_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["vocabulary", "sha256"], name="release_once_per_content"
            )
        ]

    def __str__(self) -> str:
        return f"{self.vocabulary} {self.version}"


class Topography(models.Model):
    """An ICD-O-3 topography subcategory such as C44.4 (skin of scalp and neck)."""

    code = models.CharField(max_length=5, primary_key=True)
    title = models.CharField(max_length=200)
    category = models.CharField(max_length=3, db_index=True, help_text="e.g. C44")
    category_title = models.CharField(max_length=200)
    site_group = models.CharField(
        max_length=60, db_index=True, help_text="Analysis roll-up, e.g. Skin"
    )
    subtype_family = models.CharField(
        max_length=30,
        blank=True,
        help_text="Subtypes allowed on a primary here, e.g. breast",
    )
    release = models.ForeignKey(VocabularyRelease, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "topography"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(code__regex=r"^C[0-9]{2}\.[0-9]$"),
                name="topography_code_format",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class Morphology(models.Model):
    """An ICD-O-3 histology/behaviour code such as 8500/3 (infiltrating duct carcinoma)."""

    code = models.CharField(max_length=6, primary_key=True)
    title = models.CharField(max_length=200)
    histology = models.CharField(max_length=4, db_index=True)
    behaviour = models.PositiveSmallIntegerField(choices=Behaviour.choices)
    release = models.ForeignKey(VocabularyRelease, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "morphology"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(code__regex=r"^[0-9]{4}/[0-369]$"),
                name="morphology_code_format",
            ),
            models.CheckConstraint(
                condition=models.Q(behaviour__in=Behaviour.values),
                name="morphology_behaviour_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class Subtype(models.Model):
    """A molecular or surrogate subtype, valid only on primaries of its family."""

    code = models.CharField(max_length=40, primary_key=True)
    family = models.CharField(max_length=30, db_index=True, help_text="e.g. breast")
    title = models.CharField(max_length=120)
    definition = models.TextField(blank=True)
    release = models.ForeignKey(VocabularyRelease, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["family", "code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(code__regex=r"^[a-z0-9_]+$"),
                name="subtype_code_format",
            ),
            models.CheckConstraint(condition=~models.Q(family=""), name="subtype_family_set"),
        ]

    def __str__(self) -> str:
        return self.title
