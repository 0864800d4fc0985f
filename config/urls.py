"""URL map: the admin, the health probes and the API."""

from django.contrib import admin
from django.urls import path

from api import health

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
]
