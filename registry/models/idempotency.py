"""Idempotency keys: a client's POST remembered with the response to replay for it.

Hospital systems resend after timeouts; a resend with the same `Idempotency-Key`
must get the first answer back instead of creating a second case.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from registry.models.institution import User
from registry.models.token import ApiToken


class IdempotencyState(models.TextChoices):
    IN_FLIGHT = "in_flight", "In flight"
    DONE = "done", "Done"


class IdempotencyRecord(models.Model):
    """One key of one client: the request's fingerprint and, once done, its response."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    token = models.ForeignKey(
        ApiToken,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Keys are scoped per token; empty for a signed-in (session) user.",
    )
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(
        max_length=64, help_text="SHA-256 of the method, path and canonical JSON body."
    )
    state = models.CharField(
        max_length=16, choices=IdempotencyState.choices, default=IdempotencyState.IN_FLIGHT
    )
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    # Text, not JSON, so that a replay is byte for byte the first response (jsonb reorders keys).
    response_body = models.TextField(blank=True, help_text="The JSON body of the response.")
    response_headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["token", "key"],
                condition=Q(token__isnull=False),
                name="idempotency_key_per_token",
            ),
            models.UniqueConstraint(
                fields=["user", "key"],
                condition=Q(token__isnull=True),
                name="idempotency_key_per_session_user",
            ),
            models.CheckConstraint(
                condition=Q(state=IdempotencyState.IN_FLIGHT) | Q(status_code__isnull=False),
                name="idempotency_done_has_status",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.state})"
