"""Candidate pairs of cases that may be one patient, and curators' decisions on them.

Probabilistic record linkage (`registry.linkage`) proposes pairs with a
Fellegi-Sunter match probability; a curator confirms or rejects each. Confirmed
pairs join cases into one person, of whom one case is counted
(`Case.linked_duplicate` marks the others; `registry.linkage.persons`).
"""

from django.db import models
from django.db.models import F, Q

from registry.models.case import Case
from registry.models.choices import LinkStatus
from registry.models.institution import User


class LinkCandidate(models.Model):
    """Two cases that linkage scored as possibly the same patient (lower id first)."""

    case_a = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    case_b = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    match_probability = models.FloatField()
    match_weight = models.FloatField(help_text="log2 Bayes factor, Fellegi-Sunter.")
    agreements = models.JSONField(
        default=dict, help_text="Per compared fact, the level the pair reached (for the reviewer)."
    )
    status = models.CharField(
        max_length=16, choices=LinkStatus.choices, default=LinkStatus.PENDING, db_index=True
    )
    reviewed_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_reason = models.TextField(blank=True)
    found_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-match_probability", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case_a", "case_b"], name="link_pair_once"),
            models.CheckConstraint(condition=Q(case_a__lt=F("case_b")), name="link_lower_id_first"),
            models.CheckConstraint(
                condition=Q(status=LinkStatus.PENDING)
                | Q(reviewed_by__isnull=False, reviewed_at__isnull=False),
                name="link_review_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_a_id} ~ {self.case_b_id} ({self.match_probability:.3f}, {self.status})"
