"""Withdrawal requests: a hospital asks that one of its cases leave the registry.

Submitters cannot delete cases (a deletion redacts history and is a curator's
decision, `registry.services.cases.case_delete`), so a hospital's "withdraw" is
a recorded request that curators see in the admin and act on by deleting the
case, which deletes the request with it. Until then the case stays as it is.
"""

from django.db import models

from registry.models.case import Case
from registry.models.institution import User


class CaseWithdrawal(models.Model):
    """One open request to withdraw a case: who asked, when and why."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="withdrawal")
    requested_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    reason = models.CharField(
        max_length=500, help_text="Why the hospital withdraws it, e.g. a duplicate report."
    )

    class Meta:
        ordering = ["requested_at", "id"]

    def __str__(self) -> str:
        return f"withdrawal of case {self.case_id} requested {self.requested_at:%Y-%m-%d}"
