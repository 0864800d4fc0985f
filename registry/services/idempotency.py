"""Idempotency keys: the first response to a request, kept to replay for its resends.

A key is taken inside the transaction that does the request's work, and its
response is stored in that same transaction. So a request that fails, whatever
the cause (an error answer, the database going away, the worker being killed),
leaves nothing behind: its transaction rolls back, and the key is free to retry
at once. On PostgreSQL the key is held by a transaction-scoped advisory lock,
which the server drops the moment that transaction ends or its connection dies;
a parallel request with the same key finds the lock taken and is told to retry
(KeyInFlight). SQLite runs one write transaction at a time, so there the second
request simply waits for the first. Keys live `REGISTRY_IDEMPOTENCY_TTL_HOURS`
(default 24) per token; expired ones are ignored, purged as new keys are taken,
and by `purge_idempotency_keys`.
"""

import datetime
import hashlib
import json

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.utils import timezone

from registry.models import ApiToken, IdempotencyRecord, IdempotencyState, User


class KeyInFlight(Exception):
    """Another request with this key is being processed right now."""


def idempotency_cutoff(now: datetime.datetime | None = None) -> datetime.datetime:
    """Records created before this have expired."""
    hours = settings.REGISTRY_IDEMPOTENCY_TTL_HOURS
    return (now or timezone.now()) - datetime.timedelta(hours=hours)


def idempotency_take(*, user: User, token: ApiToken | None, key: str) -> IdempotencyRecord | None:
    """Inside the request's transaction: the stored answer for `key`, or None once it is ours.

    Raises KeyInFlight when a live transaction of another request holds the key.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("idempotency_take must run inside the request's transaction")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_lock_id(user, token, key)])
            if not cursor.fetchone()[0]:
                raise KeyInFlight()
    idempotency_purge()
    held = IdempotencyRecord.objects.filter(user=user, token=token, key=key)
    # An in-flight row (written by an older version of this code) has no live owner now.
    held.filter(state=IdempotencyState.IN_FLIGHT).delete()
    return held.first()


def idempotency_complete(
    *,
    user: User,
    token: ApiToken | None,
    key: str,
    fingerprint: str,
    status_code: int,
    body,
    headers: dict[str, str],
) -> IdempotencyRecord:
    """Keep the response (status, JSON-able body, headers) of a request that succeeded."""
    return IdempotencyRecord.objects.create(
        user=user,
        token=token,
        key=key,
        fingerprint=fingerprint,
        state=IdempotencyState.DONE,
        status_code=status_code,
        response_body=json.dumps(body, cls=DjangoJSONEncoder),
        response_headers=headers,
    )


def idempotency_purge(*, now: datetime.datetime | None = None) -> int:
    """Delete every expired record; returns how many."""
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=idempotency_cutoff(now)).delete()
    return deleted


def _lock_id(user: User, token: ApiToken | None, key: str) -> int:
    """A signed 64-bit advisory-lock id for (client, key)."""
    scope = f"idempotency\n{user.pk}\n{token.pk if token else ''}\n{key}".encode()
    return int.from_bytes(hashlib.blake2b(scope, digest_size=8).digest(), "big", signed=True)
