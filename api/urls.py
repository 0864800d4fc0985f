"""Routes under /api/: version 1 of the registry API and its documentation."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from api.fhir.views import FhirBundleViewSet
from api.views.cases import CaseViewSet
from api.views.stats import (
    CrosstabView,
    DimensionCountsView,
    IntervalsView,
    SiteCountsView,
    SiteProfileView,
    SiteSharesView,
    SurvivalView,
)
from api.views.vocabularies import MorphologyViewSet, SubtypeViewSet, TopographyViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("cases", CaseViewSet, basename="case")
router.register("vocabularies/topography", TopographyViewSet, basename="topography")
router.register("vocabularies/morphology", MorphologyViewSet, basename="morphology")
router.register("vocabularies/subtypes", SubtypeViewSet, basename="subtype")

urlpatterns = [
    path("v1/", include(router.urls)),
    path("v1/stats/", SiteCountsView.as_view(), name="stats-sites"),
    path("v1/stats/counts/", DimensionCountsView.as_view(), name="stats-counts"),
    path("v1/stats/crosstab/", CrosstabView.as_view(), name="stats-crosstab"),
    path("v1/stats/intervals/", IntervalsView.as_view(), name="stats-intervals"),
    path("v1/stats/survival/", SurvivalView.as_view(), name="stats-survival"),
    path("v1/stats/site-shares/", SiteSharesView.as_view(), name="stats-site-shares"),
    path("v1/stats/profile/", SiteProfileView.as_view(), name="stats-profile"),
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
]
