"""`/api/v1/atlas/` and `/api/v1/similar/`: published cases row by row, and similar cases.

The atlas lists literature cases only (`registry.atlas`), so a hospital case can
never be read through it; who may read it is `registry.access.can_read_atlas`.
The similar-case finder ranks literature cases for a partial case; curators
also get registry cases, everyone else the protected profile of the pattern
(the same numbers as `/api/v1/stats/profile/`, so no more than the statistics
already tell).
"""

import re

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, permissions
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from api import provenance
from api.pagination import CasePagination
from api.permissions import CanReadStatistics
from api.serializers import clinical_stats
from api.serializers.atlas import (
    AtlasCaseSerializer,
    SimilarAnswerSerializer,
    SimilarQuerySerializer,
)
from registry import access, atlas
from registry.complements import DifferencingRefused
from registry.models import Case
from registry.releases import snapshot
from registry.selectors import CaseFilters, CountedSelection, given_filters
from registry.stats import profile

SCORING = (
    "Points per fact given: metastatic site 4 (same code) / 3 (same category) / 2 (same site "
    "group); primary 2 / 1.5 (category); morphology 2 / 1 (same first three digits); subtype "
    "1.5; presentation 1; misdiagnosis 1; months within 12: 1, within 36: 0.5; sex 0.5; age "
    "band 0.5; ER, PR, HER2 status 0.25 each; free text 1. A site or primary given as a category "
    "(C44, C50) is matched in full by any code in it. Score = points / points possible."
)


class CanReadAtlas(permissions.BasePermission):
    """Analysts and curators; anyone where REGISTRY_ATLAS_PUBLIC is on."""

    message = "The atlas is for analysts and curators on this registry."

    def has_permission(self, request, view):
        return access.can_read_atlas(request.user)


def _parameter(request, name: str, pattern: str) -> str | None:
    """One value of a query parameter, matching its pattern; 400 naming it otherwise."""
    values = request.query_params.getlist(name)
    if not values:
        return None
    if len(values) > 1 or not re.fullmatch(pattern, values[0]):
        raise ValidationError({name: [f"Give one value matching {pattern}."]})
    return values[0]


ATLAS_PARAMETERS = [
    OpenApiParameter("site", str, description="Metastatic site code, e.g. C44.4"),
    OpenApiParameter("site_category", str, description="Metastatic site category, e.g. C44"),
    OpenApiParameter("site_group", str, description="Site group, e.g. Skin"),
    OpenApiParameter("primary_category", str, description="Primary site category, e.g. C50"),
    OpenApiParameter("q", str, description="Full-text search of the reports and case notes"),
]
_PARAMETERS = {
    "site": r"C[0-9]{2}\.[0-9]",
    "site_category": r"C[0-9]{2}",
    "site_group": r"[A-Za-z ,/-]{1,60}",
    "primary_category": r"C[0-9]{2}",
    "q": r"[^\x00]{1,200}",
}


class AtlasMixin:
    permission_classes = [CanReadAtlas]
    serializer_class = AtlasCaseSerializer
    lookup_field = "uuid"

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "citations": getattr(self, "_citations", {})}

    def cite(self, cases: list[Case]) -> None:
        self._citations = atlas.citations_of(cases)


@extend_schema(
    summary="Published case reports, row by row",
    description=(
        "Literature cases (with a DOI or PMID) by metastatic site and primary, each with its "
        "coded facts and citation. Hospital cases never appear here. Analysts and curators; "
        "anyone where the registry is configured public (REGISTRY_ATLAS_PUBLIC)."
    ),
    parameters=ATLAS_PARAMETERS,
)
class AtlasListView(AtlasMixin, generics.ListAPIView):
    pagination_class = CasePagination

    def get_queryset(self):
        unknown = set(self.request.query_params) - {*_PARAMETERS, "cursor", "page_size"}
        if unknown:
            raise ValidationError({name: ["Unknown parameter."] for name in sorted(unknown)})
        request = self.request
        given = {name: _parameter(request, name, pattern) for name, pattern in _PARAMETERS.items()}
        return atlas.atlas_cases(user=self.request.user, **given).order_by("-id")

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        self.cite(page)
        return page


@extend_schema(summary="One published case report", parameters=[
    OpenApiParameter("uuid", OpenApiTypes.UUID, OpenApiParameter.PATH)
])  # fmt: skip
class AtlasDetailView(AtlasMixin, generics.RetrieveAPIView):
    def get_queryset(self):
        return atlas.atlas_cases(user=self.request.user)

    def get_object(self):
        found = self.get_queryset().filter(uuid=self.kwargs["uuid"]).first()
        if found is None:
            raise NotFound("No published case with this id.")
        self.cite([found])
        return found


class SimilarCasesView(APIView):
    """Published cases most like a partial case, with reasons, and the pattern's profile."""

    permission_classes = [CanReadStatistics]

    @extend_schema(
        summary="Similar cases for a partial case",
        description=(
            "Ranks published cases by a documented similarity, each with the reasons it "
            "matched. " + SCORING + " Curators also get registry cases. With a primary and a "
            "site, the answer carries the registry's profile of that pattern, protected for "
            "analysts exactly as /api/v1/stats/profile/ is."
        ),
        request=SimilarQuerySerializer,
        responses={200: SimilarAnswerSerializer},
    )
    def post(self, request):
        asked = SimilarQuerySerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        facts = dict(asked.validated_data)
        limit = facts.pop("limit")
        query = atlas.PartialCase(**facts)
        user = request.user
        literature = atlas.similar_cases(
            query=query, cases=atlas.literature_cases(user), limit=limit
        )
        registry = None
        if access.similar_registry_cases_allowed(user):
            hospital = Case.objects.exclude(source="literature")
            registry = atlas.similar_cases(query=query, cases=hospital, limit=limit, broad=False)
        citations = atlas.citations_of([match.case for match in literature])
        body = {
            "scoring": SCORING,
            "literature": [_match(found) for found in literature],
            "registry": None if registry is None else [_match(found) for found in registry],
            "profile": self.profile(request, query),
        }
        return Response(SimilarAnswerSerializer(body, context={"citations": citations}).data)

    def profile(self, request, query: atlas.PartialCase) -> dict | None:
        """The registry's protected profile of primary -> site, as stats/profile/ gives it."""
        if not (query.primary and query.site):
            return None
        level = "site" if "." in query.site else "site_category"
        filters = CaseFilters(primary_category=(query.primary[:3],), **{level: (query.site,)})
        # Counted as stats/profile/ counts it: the release analysts count, the same checks.
        release = access.counted_release(request.user, None)
        policy = access.statistics_access(request.user)
        if release is not None:
            policy = access.counting_release(policy)
        with snapshot.reading(release):
            try:
                access.check_statistics_query(request.user, parameters=given_filters(filters))
            except (DjangoValidationError, DifferencingRefused):
                return None  # a profile stats/profile/ would refuse is not given here either
            selection = CountedSelection(request.user, filters)
            found = profile.site_profile(
                selection=selection, level=profile.SITE_FILTERS[level], site=query.site
            )
        document = clinical_stats.site_profile_document(found, filters=filters, access=policy)
        return document | provenance.stamp(release=release, document=document, access=policy)


def _match(found: atlas.Match) -> dict:
    return {"score": found.score, "reasons": found.reasons, "case": found.case}
