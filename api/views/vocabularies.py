"""`/api/v1/vocabularies/`: read-only ICD-O-3 topography, morphology and subtypes."""

from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import serializers, viewsets

from api.pagination import VocabularyPagination
from api.permissions import CanReadVocabularies
from registry.models import Morphology, Subtype, Topography
from registry.vocabulary_filters import (
    MorphologyFilterSet,
    SubtypeFilterSet,
    TopographyFilterSet,
)


class TopographySerializer(serializers.ModelSerializer):
    class Meta:
        model = Topography
        fields = ["code", "title", "category", "category_title", "site_group", "subtype_family"]


class MorphologySerializer(serializers.ModelSerializer):
    class Meta:
        model = Morphology
        fields = ["code", "title", "histology", "behaviour"]


class SubtypeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Subtype
        fields = ["code", "family", "title", "definition"]


class VocabularyViewSet(viewsets.ReadOnlyModelViewSet):
    """Shared lookup: `q` matches a code prefix or the title; other params filter exactly."""

    permission_classes = [CanReadVocabularies]
    pagination_class = VocabularyPagination
    filter_backends = [DjangoFilterBackend]
    lookup_field = "code"


class TopographyViewSet(VocabularyViewSet):
    """ICD-O-3 topography: sites of primaries and metastases."""

    queryset = Topography.objects.all()
    serializer_class = TopographySerializer
    filterset_class = TopographyFilterSet
    lookup_value_regex = r"C[0-9]{2}\.[0-9]"


class MorphologyViewSet(VocabularyViewSet):
    """ICD-O-3 histology and behaviour."""

    queryset = Morphology.objects.all()
    serializer_class = MorphologySerializer
    filterset_class = MorphologyFilterSet
    lookup_value_regex = r"[0-9]{4}/[0-9]"


class SubtypeViewSet(VocabularyViewSet):
    """Molecular and surrogate subtypes, by primary family."""

    queryset = Subtype.objects.all()
    serializer_class = SubtypeSerializer
    filterset_class = SubtypeFilterSet
    lookup_value_regex = r"[a-z0-9_]+"
