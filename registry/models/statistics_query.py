"""The analysts' query log: who asked which table of the statistics, and when.

Why: a disclosure attack on aggregate tables is a pattern of many questions
(the same table with one filter value changed, again and again). Recording
every analyst question makes use attributable, lets curators see such patterns
(`registry.admin.analyst_use`) and bounds it: a daily budget of distinct tables
per analyst (`registry.services.statistics_log`). The answer is never stored:
the log must not become a copy of what it protects.
"""

from django.db import models
from django.utils import timezone

from registry.models.institution import User


class StatisticsQuery(models.Model):
    """One analyst question to a statistics endpoint: never its answer."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="statistics_queries")
    asked_at = models.DateTimeField(default=timezone.now)
    day = models.DateField(help_text="The UTC day the question counts against, for the budget.")
    endpoint = models.CharField(max_length=40, help_text="sites, counts, crosstab, survival, ...")
    parameters = models.JSONField(
        help_text="The normalised filters and options: names sorted, each value list sorted."
    )
    table_key = models.CharField(
        max_length=64, help_text="SHA-256 of the endpoint and parameters: one distinct table."
    )
    refused = models.BooleanField(
        default=False, help_text="Past the day's budget of distinct tables: not answered."
    )

    class Meta:
        verbose_name = "statistics query"
        verbose_name_plural = "statistics queries"
        indexes = [
            # The budget's one look-up: this analyst's distinct tables today.
            models.Index(fields=["user", "day", "table_key"], name="statistics_query_budget"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.endpoint} {self.asked_at:%Y-%m-%d %H:%M}"
