"""Redactions: identifying text removed from a case and every history row of it.

The record says who redacted which fields of which case, when and why; it never
holds the removed value. It outlives the case (the UUID is kept), so deleting a
case, which redacts its history's free text and key too, leaves one behind.
"""

from django.db import models
from django.utils import timezone

from registry.models.case import Case
from registry.models.institution import User


class Redaction(models.Model):
    """One redaction event: who, when, which fields of which case; never the old value."""

    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="redactions"
    )
    case_uuid = models.UUIDField(db_index=True, help_text="Kept when the case is deleted.")
    fields = models.JSONField(help_text='Fields redacted, e.g. ["local_id", "misdiagnosis_text"].')
    reason = models.CharField(max_length=200, blank=True)
    redacted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    redacted_at = models.DateTimeField(default=timezone.now)
    rows_rewritten = models.PositiveIntegerField(
        default=0, help_text="Rows changed: the case, its parts and their history rows."
    )

    class Meta:
        ordering = ["-redacted_at", "-id"]

    def __str__(self) -> str:
        return f"redaction of {', '.join(self.fields)} in case {self.case_uuid}"
