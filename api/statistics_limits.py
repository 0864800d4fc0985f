"""Bounded use of the statistics: one request rate per person, a daily budget of tables.

Why: a differencing attack is many questions. DRF's throttles key a token and
a session apart, so an analyst had two budgets (the API token, the dashboard's
session); here the key is the person. The daily budget counts distinct tables
(endpoint, filters and options, normalised), since asking a table again tells
nothing new; it is kept in the analysts' query log (`registry.services.statistics_log`).
Both limits are settings: API_STATISTICS_RATE_PER_PERSON and
REGISTRY_ANALYST_DAILY_TABLES; curators, who see exact counts, have neither.
"""

import math

from django.conf import settings
from django.utils import timezone
from rest_framework.exceptions import Throttled
from rest_framework.throttling import SimpleRateThrottle

from registry.services.statistics_log import QueryRecord


class PersonStatisticsThrottle(SimpleRateThrottle):
    """One rate per analyst over every statistics endpoint, by token or by session alike.

    Curators are exempt: they see exact counts and the cases themselves, so the rate
    protects nothing from them; their tokens keep the per-token rate.
    """

    scope = "statistics_person"

    def get_rate(self) -> str:
        # Read at each request, not at import, so that a changed setting applies.
        return settings.API_STATISTICS_RATE_PER_PERSON

    def get_cache_key(self, request, view):
        if not (request.user and request.user.is_authenticated) or request.user.is_curator:
            return None
        return self.cache_format % {"scope": self.scope, "ident": f"user-{request.user.pk}"}


class DailyTableBudgetExceeded(Throttled):
    """429: the analyst asked today's budget of distinct tables; Retry-After: next UTC day."""

    default_code = "daily_table_budget"

    def __init__(self, record: QueryRecord):
        wait = max(1, math.ceil((record.retry_at - timezone.now()).total_seconds()))
        super().__init__(
            wait=wait,
            detail=(
                f"You have asked the {record.budget} distinct tables of your daily budget "
                "(REGISTRY_ANALYST_DAILY_TABLES). Tables already asked today still answer; "
                "new ones from the next UTC day."
            ),
            code=self.default_code,
        )
