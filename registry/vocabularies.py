"""An in-memory view of the coded vocabularies for validating many cases fast.

The vocabularies are a few hundred rows that change only when a curator loads a
new release, so each process keeps one snapshot and reloads it when a newer
release appears (one indexed one-row query per check instead of a query per code).
The release is checked at most every `RECHECK_SECONDS` per process, so a release
loaded by another process is seen within that delay; a load in this process
(`registry.services.vocabulary_load`) drops the snapshot at once.
"""

import datetime
import threading
import time
from dataclasses import dataclass

from django.db.models import Max

from registry.models import Morphology, Subtype, Topography, VocabularyRelease


@dataclass(frozen=True)
class VocabularySnapshot:
    topography: dict[str, Topography]
    morphology: dict[str, Morphology]
    subtypes: dict[str, Subtype]
    loaded_at: datetime.datetime | None


# How long a snapshot is used without asking for the newest release again.
RECHECK_SECONDS = 2.0

_lock = threading.Lock()
_snapshot: VocabularySnapshot | None = None
_checked_at = 0.0  # time.monotonic() of the last release check


def current_vocabularies() -> VocabularySnapshot:
    """The vocabularies as of the newest loaded release (checked every few seconds)."""
    global _snapshot, _checked_at
    snapshot = _snapshot
    if snapshot is not None and time.monotonic() - _checked_at < RECHECK_SECONDS:
        return snapshot
    # Keyed on the newest load time: going back to earlier content reuses its
    # release row but marks it loaded again.
    latest = VocabularyRelease.objects.aggregate(latest=Max("loaded_at"))["latest"]
    checked_at = time.monotonic()
    if snapshot is not None and snapshot.loaded_at == latest:
        _checked_at = checked_at
        return snapshot
    with _lock:
        _snapshot = VocabularySnapshot(
            topography={row.code: row for row in Topography.objects.all()},
            morphology={row.code: row for row in Morphology.objects.all()},
            subtypes={row.code: row for row in Subtype.objects.all()},
            loaded_at=latest,
        )
        _checked_at = checked_at
        return _snapshot


def forget_vocabularies() -> None:
    """Drop the cached snapshot: the next use reads the vocabularies again.

    Loading a release calls it; so do tests that roll back loaded vocabularies.
    """
    global _snapshot, _checked_at
    _snapshot = None
    _checked_at = 0.0
