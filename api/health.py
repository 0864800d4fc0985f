"""Liveness and readiness probes for load balancers and orchestrators.

`/healthz` answers while the process runs; `/readyz` also needs the database,
so a load balancer stops routing to an instance that has lost it.
"""

from django.db import DatabaseError, connection
from django.http import JsonResponse

from api.problems import problem_response
from registry.error_codes import ErrorCode


def healthz(request):
    return JsonResponse({"status": "ok"})


def readyz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        # The API's one problem shape, with the same code as a 503 from any view.
        return problem_response(
            503, "The database cannot be reached.", ErrorCode.DATABASE_UNAVAILABLE
        )
    return JsonResponse({"status": "ready", "database": "ok"})
