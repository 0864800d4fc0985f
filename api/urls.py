"""Routes under /api/: version 1 of the registry API and its documentation."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from api import home
from api.fhir.views import FhirBundleViewSet
from api.views import stats
from api.views.cases import CaseViewSet
from api.views.vocabularies import MorphologyViewSet, SubtypeViewSet, TopographyViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("cases", CaseViewSet, basename="case")
router.register("vocabularies/topography", TopographyViewSet, basename="topography")
router.register("vocabularies/morphology", MorphologyViewSet, basename="morphology")
router.register("vocabularies/subtypes", SubtypeViewSet, basename="subtype")

urlpatterns = [
    path("v1/", home.api_root, name="api-root"),
    path("v1/", include(router.urls)),
    path("v1/stats/", stats.SiteCountsView.as_view(), name="stats-sites"),
    path("v1/stats/counts/", stats.DimensionCountsView.as_view(), name="stats-counts"),
    path("v1/stats/crosstab/", stats.CrosstabView.as_view(), name="stats-crosstab"),
    path("v1/stats/intervals/", stats.IntervalsView.as_view(), name="stats-intervals"),
    # One operation per media type: the same tables as CSV.
    path("v1/stats/sites.csv", stats.SiteCountsCsvView.as_view(), name="stats-sites-csv"),
    path("v1/stats/counts.csv", stats.DimensionCountsCsvView.as_view(), name="stats-counts-csv"),
    path("v1/stats/crosstab.csv", stats.CrosstabCsvView.as_view(), name="stats-crosstab-csv"),
    path("v1/stats/intervals.csv", stats.IntervalsCsvView.as_view(), name="stats-intervals-csv"),
    path("v1/stats/survival/", stats.SurvivalView.as_view(), name="stats-survival"),
    path("v1/stats/site-shares/", stats.SiteSharesView.as_view(), name="stats-site-shares"),
    path("v1/stats/profile/", stats.SiteProfileView.as_view(), name="stats-profile"),
    path("v1/stats/survival.csv", stats.SurvivalCsvView.as_view(), name="stats-survival-csv"),
    path(
        "v1/stats/site-shares.csv", stats.SiteSharesCsvView.as_view(), name="stats-site-shares-csv"
    ),
    # FHIR names its endpoints by resource type, without a trailing slash.
    path(
        "v1/fhir/Bundle",
        FhirBundleViewSet.as_view({"post": "create"}),
        name="fhir-bundle-list",
    ),
    path(
        "v1/fhir/Bundle/<uuid:case_uuid>",
        FhirBundleViewSet.as_view({"get": "retrieve"}),
        name="fhir-bundle-detail",
    ),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    # Last: any other URL under /api/ is a problem document, with DEBUG on too.
    re_path(r"^(?P<unknown>.*)$", home.api_not_found),
]
