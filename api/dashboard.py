"""`/dashboard/`: the analyst dashboard, a page over the `/api/v1/stats/` endpoints.

The page holds no numbers of its own: its script reads the statistics API with
the session cookie, so protection and permissions are the API's, applied once.
"""

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render

from api.permissions import CanReadStatistics
from registry import access
from registry.models import ReviewStatus, Role, Sex, Subtype, Topography


def dashboard(request):
    """Charts and tables of the statistics, with the API's filters."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if request.user.role == Role.SUBMITTER and request.user.institution_id is not None:
        # A hospital's data manager lands here after signing in: their pages are their cases.
        return redirect("hospital-cases")
    if not CanReadStatistics().has_permission(request, view=None):
        raise PermissionDenied(CanReadStatistics.message)
    return render(
        request,
        "dashboard/index.html",
        {
            "subtypes": Subtype.objects.order_by("family", "title"),
            "sexes": Sex.choices,
            # Analysts count verified cases only; the API refuses any other status.
            "statuses": ReviewStatus.choices if request.user.is_curator else None,
            # The published data dictionary: ages in bands, years in periods.
            "age_bands": list(access.PUBLISHED_AGE_BANDS),
            "periods": access.published_periods(),
            # Curators start where analysts are, so rejected cases are never counted unasked.
            "default_status": ReviewStatus.VERIFIED,
            # The drill-down keeps only the codes of the group selected (see dashboard.js).
            "site_groups": _site_group_of_codes(),
        },
    )


def _site_group_of_codes() -> dict[str, str]:
    """Each topography code's analysis site group, as the vocabulary says."""
    return dict(Topography.objects.order_by("code").values_list("code", "site_group"))


def site_profile(request):
    """One primary and one metastatic site: the profile, survival curves and their risk tables."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not CanReadStatistics().has_permission(request, view=None):
        raise PermissionDenied(CanReadStatistics.message)
    return render(request, "dashboard/profile.html", {})


def atlas(request):
    """Published case reports per site, beside the site's protected count in the registry."""
    if not access.can_read_atlas(request.user):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        raise PermissionDenied("The atlas is for analysts and curators on this registry.")
    return render(request, "dashboard/atlas.html", {"site": "C44.4", "primary_category": "C50"})
