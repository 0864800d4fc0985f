"""Releases: numbered, immutable snapshots of the cases analysts count.

A registry's numbers end up in papers. A release freezes what analysts count
(verified cases with no open soft-edit flag) with every attribute a statistic
reads, so the same question asked of the same release gives the same answer
years later, whatever hospitals submit or curators correct afterwards. The rows
live outside the live tables (`registry.releases.snapshot`); this row records
what the release is: its name, when and by which software it was made, a
checksum of its rows, its notes, and whether a curator has retired it.
"""

from django.conf import settings
from django.db import models


class ReleaseQuerySet(models.QuerySet):
    def available(self) -> "ReleaseQuerySet":
        """Releases not retired, whose rows can be counted."""
        return self.filter(retired_at__isnull=True)

    def latest_available(self) -> "Release | None":
        """The newest release not retired: what analysts count by default."""
        return self.available().order_by("-created_at", "-id").first()


class Release(models.Model):
    """One numbered snapshot, e.g. 2026.4."""

    name = models.CharField(max_length=32, unique=True, help_text="e.g. 2026.4")
    storage = models.CharField(
        max_length=63, unique=True, help_text="Where its rows are: a schema or a table prefix."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    software_version = models.CharField(max_length=40)
    checksum = models.CharField(max_length=71, help_text="sha256: over the snapshot's rows")
    cases = models.PositiveIntegerField(help_text="Cases in the release (exact; for curators)")
    metastases = models.PositiveIntegerField()
    storage_bytes = models.BigIntegerField(null=True, help_text="On disk, indexes included")
    seconds_to_create = models.FloatField(null=True)
    description = models.TextField(blank=True, help_text="The curator's notes, in words")
    # Exact counts per site group of cases added, removed and changed since `previous`;
    # analysts read them protected like every other number (registry.releases.notes).
    changes = models.JSONField(default=dict)
    previous = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    retired_at = models.DateTimeField(null=True, blank=True)
    successor = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = ReleaseQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name

    @property
    def retired(self) -> bool:
        return self.retired_at is not None
