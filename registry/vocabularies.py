"""An in-memory view of the coded vocabularies for validating many cases fast.

The vocabularies are a few hundred rows that change only when a curator loads a
new release, so each process keeps one snapshot and reloads it when a newer
release appears (one indexed one-row query per check instead of a query per code).
"""

import datetime
import threading
from dataclasses import dataclass

from django.db.models import Max

from registry.models import Morphology, Subtype, Topography, VocabularyRelease


@dataclass(frozen=True)
class VocabularySnapshot:
    topography: dict[str, Topography]
    morphology: dict[str, Morphology]
    subtypes: dict[str, Subtype]
    loaded_at: datetime.datetime | None


_lock = threading.Lock()
_snapshot: VocabularySnapshot | None = None


def current_vocabularies() -> VocabularySnapshot:
    """The vocabularies as of the newest loaded release."""
    global _snapshot
    # Keyed on the newest load time: going back to earlier content reuses its
    # release row but marks it loaded again.
    latest = VocabularyRelease.objects.aggregate(latest=Max("loaded_at"))["latest"]
    snapshot = _snapshot
    if snapshot is not None and snapshot.loaded_at == latest:
        return snapshot
    with _lock:
        _snapshot = VocabularySnapshot(
            topography={row.code: row for row in Topography.objects.all()},
            morphology={row.code: row for row in Morphology.objects.all()},
            subtypes={row.code: row for row in Subtype.objects.all()},
            loaded_at=latest,
        )
        return _snapshot


def forget_vocabularies() -> None:
    """Drop the cached snapshot (tests that roll back loaded vocabularies need this)."""
    global _snapshot
    _snapshot = None
