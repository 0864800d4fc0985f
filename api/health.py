"""Liveness and readiness probes for load balancers and orchestrators.

`/healthz` answers while the process runs; `/readyz` also needs what every
authenticated request needs: a database that accepts writes (not a standby
after a failover, nor one set read-only) and the shared cache that holds the
throttles (Redis when REDIS_URL is set). A load balancer then stops routing to
an instance that would answer 503 to every request.
"""

from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import JsonResponse

from api.faults import CACHE_ERRORS
from api.problems import problem_response
from registry.error_codes import ErrorCode

_PROBE_KEY = "readyz-probe"


def healthz(request):
    return JsonResponse({"status": "ok"})


def readyz(request):
    try:
        read_only = database_is_read_only()
    except DatabaseError:
        # The API's one problem shape, with the same code as a 503 from any view.
        return problem_response(
            503, "The database cannot be reached.", ErrorCode.DATABASE_UNAVAILABLE
        )
    if read_only:
        return problem_response(
            503,
            "The database accepts no writes (a standby, or set read-only).",
            ErrorCode.DATABASE_READ_ONLY,
        )
    try:
        cache.set(_PROBE_KEY, 1, 10)
        cache.get(_PROBE_KEY)
    except (DatabaseError, *CACHE_ERRORS):
        return problem_response(
            503, "The shared cache (throttles) cannot be reached.", ErrorCode.CACHE_UNAVAILABLE
        )
    return JsonResponse({"status": "ready", "database": "ok", "cache": "ok"})


def database_is_read_only() -> bool:
    """True when the default database refuses writes; DatabaseError when it is unreachable."""
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.execute("SELECT 1")
            return False
        # A hot standby reports transaction_read_only = on as well.
        cursor.execute("SELECT current_setting('transaction_read_only') = 'on'")
        return cursor.fetchone()[0]
