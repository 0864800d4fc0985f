"""`/api/v1/vocabularies/`: read-only ICD-O-3 topography, morphology and subtypes."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.exceptions import ValidationError

from api.pagination import VocabularyPagination
from api.permissions import CanReadVocabularies
from registry.models import Morphology, Subtype, Topography


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


Q_PARAM = OpenApiParameter("q", description="Code prefix or words of the title")


class VocabularyViewSet(viewsets.ReadOnlyModelViewSet):
    """Shared search: `q` matches a code prefix or the title; other params filter exactly."""

    permission_classes = [CanReadVocabularies]
    pagination_class = VocabularyPagination
    lookup_field = "code"
    exact_filters: tuple[str, ...] = ()

    def get_queryset(self):
        rows = self.queryset
        params = self.request.query_params
        text = params.get("q", "").strip()
        if text:
            rows = rows.filter(Q(code__istartswith=text) | Q(title__icontains=text))
        for name in self.exact_filters:
            if params.get(name):
                try:
                    rows = rows.filter(**{name: params[name]})
                except (ValueError, DjangoValidationError):
                    raise ValidationError({name: ["Not a valid value."]}) from None
        return rows


def _filters(*names: str) -> list[OpenApiParameter]:
    return [Q_PARAM, *(OpenApiParameter(name) for name in names)]


@extend_schema_view(list=extend_schema(parameters=_filters("category", "site_group")))
class TopographyViewSet(VocabularyViewSet):
    """ICD-O-3 topography: sites of primaries and metastases."""

    queryset = Topography.objects.all()
    serializer_class = TopographySerializer
    lookup_value_regex = r"C[0-9]{2}\.[0-9]"
    exact_filters = ("category", "site_group")


@extend_schema_view(
    list=extend_schema(
        parameters=[Q_PARAM, OpenApiParameter("behaviour", int, enum=[0, 1, 2, 3, 6, 9])]
    )
)
class MorphologyViewSet(VocabularyViewSet):
    """ICD-O-3 histology and behaviour."""

    queryset = Morphology.objects.all()
    serializer_class = MorphologySerializer
    lookup_value_regex = r"[0-9]{4}/[0-9]"
    exact_filters = ("behaviour",)


@extend_schema_view(list=extend_schema(parameters=_filters("family")))
class SubtypeViewSet(VocabularyViewSet):
    """Molecular and surrogate subtypes, by primary family."""

    queryset = Subtype.objects.all()
    serializer_class = SubtypeSerializer
    lookup_value_regex = r"[a-z0-9_]+"
    exact_filters = ("family",)
