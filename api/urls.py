"""Routes under /api/: version 1 of the registry API and its documentation."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from api import home
from api.fhir.views import FhirBundleViewSet
from api.schema_view import CachedSchemaView
from api.views import atlas, stats
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
    *(
        path(f"v1/stats/{endpoint.route}", endpoint.view.as_view(), name=f"stats-{endpoint.name}")
        for endpoint in stats.ENDPOINTS
    ),
    # One operation per media type: the same tables as CSV.
    *(
        path(
            f"v1/stats/{endpoint.name}.csv",
            endpoint.csv_view.as_view(),
            name=f"stats-{endpoint.name}-csv",
        )
        for endpoint in stats.ENDPOINTS
        if endpoint.csv_view is not None
    ),
    path("v1/atlas/", atlas.AtlasListView.as_view(), name="atlas-list"),
    path("v1/atlas/<uuid:uuid>/", atlas.AtlasDetailView.as_view(), name="atlas-detail"),
    path("v1/similar/", atlas.SimilarCasesView.as_view(), name="similar-cases"),
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
    path("schema/", CachedSchemaView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    # Last: any other URL under /api/ is a problem document, with DEBUG on too.
    re_path(r"^(?P<unknown>.*)$", home.api_not_found),
]
