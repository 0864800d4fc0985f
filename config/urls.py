"""URL map: the admin, the health probes, the API, the analyst dashboard and hospital pages."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from api import dashboard, health, home

urlpatterns = [
    path("", home.home, name="home"),
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("api/", include("api.urls")),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("dashboard/profile/", dashboard.site_profile, name="dashboard-profile"),
    path("dashboard/atlas/", dashboard.atlas, name="dashboard-atlas"),
    path("hospital/", include("api.hospital.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
]

# Errors outside DRF views (unknown URLs, CSRF failures) keep the problem shape.
handler400 = "api.problems.bad_request"
handler403 = "api.problems.permission_denied"
handler404 = "api.problems.not_found"
handler500 = "api.problems.server_error"
