"""Faults of what the registry stands on, answered 503 rather than 500.

With Redis unreachable, or the database read-only after a failover to a standby,
every authenticated request used to be a 500 (the throttles read the cache, a
write meets `cannot execute ... in a read-only transaction`). These are not the
client's fault, nor a bug: they are a service that is unavailable for now.
"""

from django.conf import settings
from django.db import DatabaseError
from psycopg.errors import QueryCanceled, ReadOnlySqlTransaction
from redis.exceptions import RedisError

from registry.error_codes import ErrorCode
from registry.work_budget import BudgetExceeded, budget_remaining_seconds

# What a cache backend raises when its server is gone (Django's RedisCache: redis-py's).
CACHE_ERRORS: tuple[type[Exception], ...] = (RedisError,)


def fault_of(exc: BaseException) -> tuple[str, str] | None:
    """(code, detail) of a 503 for an infrastructure fault or a spent budget, or None."""
    if isinstance(exc, BudgetExceeded) or (
        isinstance(exc, DatabaseError)
        and isinstance(exc.__cause__, QueryCanceled)
        and (budget_remaining_seconds() or 0) < 0
    ):
        return (
            ErrorCode.REQUEST_BUDGET_EXCEEDED,
            f"The request needed more than its {settings.API_REQUEST_BUDGET_MS} ms; nothing was "
            "written. Send less (split a batch, narrow a query) or retry later.",
        )
    if isinstance(exc, CACHE_ERRORS):
        return (
            ErrorCode.CACHE_UNAVAILABLE,
            "The shared cache (throttles) is unavailable; retry later.",
        )
    if isinstance(exc, DatabaseError) and isinstance(exc.__cause__, ReadOnlySqlTransaction):
        return (
            ErrorCode.DATABASE_READ_ONLY,
            "The database accepts no writes right now (a failover?); retry later.",
        )
    return None
