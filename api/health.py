"""Liveness and readiness probes for load balancers and orchestrators.

`/healthz` answers while the process runs; `/readyz` also needs the database,
so a load balancer stops routing to an instance that has lost it.
"""

from django.db import DatabaseError, connection
from django.http import JsonResponse


def healthz(request):
    return JsonResponse({"status": "ok"})


def readyz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return JsonResponse(
            {
                "type": "about:blank",
                "title": "Service Unavailable",
                "status": 503,
                "detail": "The database cannot be reached.",
            },
            status=503,
            content_type="application/problem+json",
        )
    return JsonResponse({"status": "ready", "database": "ok"})
