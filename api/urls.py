"""Routes under /api/: version 1 of the registry API and its documentation."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from api.views.cases import CaseViewSet
from api.views.vocabularies import MorphologyViewSet, SubtypeViewSet, TopographyViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("cases", CaseViewSet, basename="case")
router.register("vocabularies/topography", TopographyViewSet, basename="topography")
router.register("vocabularies/morphology", MorphologyViewSet, basename="morphology")
router.register("vocabularies/subtypes", SubtypeViewSet, basename="subtype")

urlpatterns = [
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
]
