"""Idempotency keys: claim one before doing the work, then keep its response to replay.

The claim is committed on its own before the work starts, so a parallel request
with the same key finds it (and is told to wait) instead of doing the work twice.
Keys live `REGISTRY_IDEMPOTENCY_TTL_HOURS` (default 24) per token; expired ones
are ignored, purged as new keys are claimed, and by `purge_idempotency_keys`.
"""

import datetime
import json
from dataclasses import dataclass

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone

from registry.models import ApiToken, IdempotencyRecord, IdempotencyState, User

# A claim still in flight after this long belongs to a process that died mid-request.
ABANDONED_AFTER = datetime.timedelta(minutes=5)
_CLAIM_ATTEMPTS = 3


@dataclass(frozen=True)
class Claim:
    """The record for a key; `is_new` when this request claimed it and must do the work."""

    record: IdempotencyRecord
    is_new: bool


def idempotency_cutoff(now: datetime.datetime | None = None) -> datetime.datetime:
    """Records created before this have expired."""
    hours = settings.REGISTRY_IDEMPOTENCY_TTL_HOURS
    return (now or timezone.now()) - datetime.timedelta(hours=hours)


def idempotency_claim(*, user: User, token: ApiToken | None, key: str, fingerprint: str) -> Claim:
    """Claim `key` for this client, or return the record someone already holds for it.

    Run outside any transaction so that the claim is committed before the work.
    """
    now = timezone.now()
    held = IdempotencyRecord.objects.filter(user=user, token=token, key=key)
    with transaction.atomic():
        idempotency_purge(now=now)
        held.filter(state=IdempotencyState.IN_FLIGHT, created_at__lt=now - ABANDONED_AFTER).delete()
        for attempt in range(_CLAIM_ATTEMPTS):
            try:
                with transaction.atomic():
                    record = IdempotencyRecord.objects.create(
                        user=user, token=token, key=key, fingerprint=fingerprint, created_at=now
                    )
                return Claim(record, True)
            except IntegrityError:
                # Another request holds the key (this insert waited for it to commit)...
                record = held.first()
                if record is not None:
                    return Claim(record, False)
                if attempt == _CLAIM_ATTEMPTS - 1:
                    raise
                # ...or held it and has just released it after failing: claim it again.
    raise AssertionError("unreachable")


def idempotency_complete(
    *, record: IdempotencyRecord, status_code: int, body, headers: dict[str, str]
) -> None:
    """Keep the response (status, JSON-able body, headers) of the claimed request for replay."""
    record.state = IdempotencyState.DONE
    record.status_code = status_code
    record.response_body = json.dumps(body, cls=DjangoJSONEncoder)
    record.response_headers = headers
    record.save(update_fields=["state", "status_code", "response_body", "response_headers"])


def idempotency_release(*, record: IdempotencyRecord) -> None:
    """Forget a claim whose request failed, so the client can retry with the same key."""
    IdempotencyRecord.objects.filter(pk=record.pk).delete()


def idempotency_purge(*, now: datetime.datetime | None = None) -> int:
    """Delete every expired record; returns how many."""
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=idempotency_cutoff(now)).delete()
    return deleted
