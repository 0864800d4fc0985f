"""URL map: the admin, the health probes and the API."""

from django.contrib import admin
from django.urls import include, path

from api import health

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("api/", include("api.urls")),
]

# Errors outside DRF views (unknown URLs, CSRF failures) keep the problem shape.
handler400 = "api.problems.bad_request"
handler403 = "api.problems.permission_denied"
handler404 = "api.problems.not_found"
handler500 = "api.problems.server_error"
