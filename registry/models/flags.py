"""Soft-edit flags on a case and curators' confirmations of them (over-rides).

A soft edit (`registry.soft_edits`) marks a combination that is unusual but
possible, such as a nephroblastoma at 40. The case is stored with its flags and
`Case.has_open_flags` set; it counts in statistics once a curator confirms every
flag, with who, when and why kept on the flag and in its history (NAACCR's
over-ride flags exist for exactly this: rare, confirmed cases are kept).
"""

from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from registry.models.case import Case
from registry.models.choices import FlagCode
from registry.models.institution import User


class CaseFlag(models.Model):
    """One soft edit raised on a case, open until a curator confirms it."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="flags")
    code = models.CharField(max_length=32, choices=FlagCode.choices)
    field = models.CharField(max_length=64, help_text="Path of the field, e.g. primary_morphology.")
    message = models.TextField(help_text="What is unusual, with the values that raised it.")
    raised_at = models.DateTimeField()
    confirmed_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmation_reason = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["case_id", "id"]
        constraints = [
            # A confirmation is complete or absent: who, when and why together.
            models.CheckConstraint(
                condition=Q(confirmed_by__isnull=True, confirmed_at__isnull=True)
                & Q(confirmation_reason="")
                | Q(confirmed_by__isnull=False, confirmed_at__isnull=False)
                & ~Q(confirmation_reason=""),
                name="caseflag_confirmation_complete",
            ),
        ]

    def __str__(self) -> str:
        state = "open" if self.is_open else "confirmed"
        return f"{self.code} on {self.field} ({state})"

    @property
    def is_open(self) -> bool:
        return self.confirmed_at is None
