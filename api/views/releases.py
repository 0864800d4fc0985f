"""`/api/v1/releases/`: the releases analysts count, their notes and how to cite them.

Public, like a published dataset's landing page: the URL in a citation must
open for the paper's reader. The notes' counts are protected for everyone but
curators (`registry.access.release_changes`). Counting a release is the
statistics' `?release=`.
"""

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from registry import access
from registry.models import Release
from registry.releases import citation

NAME_PATTERN = r"[0-9A-Za-z][0-9A-Za-z._-]{0,31}"


class ChangeSerializer(serializers.Serializer):
    total = serializers.IntegerField(allow_null=True, help_text="Cases; null when suppressed")
    site_groups = serializers.DictField(
        child=serializers.IntegerField(allow_null=True),
        help_text="Cases per site group of their metastases (a case counts in each of its "
        "groups); null when suppressed",
    )


class ChangesSerializer(serializers.Serializer):
    added = ChangeSerializer(help_text="Cases in this release and not in the previous one")
    removed = ChangeSerializer(help_text="Cases in the previous release and not in this one")
    changed = ChangeSerializer(help_text="Cases in both whose record was corrected between them")


class ReleaseSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="e.g. 2026.4")
    url = serializers.URLField()
    created_at = serializers.DateTimeField()
    software_version = serializers.CharField()
    checksum = serializers.CharField(help_text="sha256 over the release's rows")
    description = serializers.CharField(help_text="The curators' notes, in words")
    previous = serializers.CharField(allow_null=True)
    retired_at = serializers.DateTimeField(allow_null=True)
    successor = serializers.CharField(allow_null=True, help_text="Set when retired")
    citation = serializers.CharField(help_text="One line for a reference list")
    changes = ChangesSerializer(
        allow_null=True,
        help_text="Since the previous release: protected counts for analysts, exact for "
        "curators; null for anyone else (a hospital could subtract its own cases)",
    )


def release_document(request, release: Release) -> dict:
    url = reverse("release-detail", args=[release.name], request=request)
    return {
        "name": release.name,
        "url": url,
        "created_at": release.created_at,
        "software_version": release.software_version,
        "checksum": release.checksum,
        "description": release.description,
        "previous": release.previous.name if release.previous else None,
        "retired_at": release.retired_at,
        "successor": release.successor.name if release.successor else None,
        "citation": citation.citation_text(release, url),
        "changes": access.release_changes(request.user, release),
    }


def _releases():
    return Release.objects.select_related("previous", "successor")


class ReleaseListView(APIView):
    """Every release, newest first; the first one not retired is what analysts count."""

    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer]

    @extend_schema(
        operation_id="v1_releases_list",
        summary="The releases analysts count, newest first",
        responses={200: ReleaseSerializer(many=True)},
    )
    def get(self, request):
        found = [release_document(request, release) for release in _releases()]
        return Response(ReleaseSerializer(found, many=True).data)


class ReleaseDetailView(APIView):
    """One release: when, which software, its checksum, its notes, its citation."""

    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer]

    @extend_schema(
        operation_id="v1_releases_retrieve",
        summary="One release, with its notes and citation",
        description="A retired release is still described here (its retired_at and "
        "successor set); counting it answers 410.",
        responses={200: ReleaseSerializer},
    )
    def get(self, request, name: str):
        release = get_object_or_404(_releases(), name=name)
        return Response(ReleaseSerializer(release_document(request, release)).data)


class CffRenderer(BaseRenderer):
    media_type = "application/x-yaml"
    format = "cff"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data.encode() if isinstance(data, str) else JSONRenderer().render(data)


class BibTeXRenderer(CffRenderer):
    media_type = "application/x-bibtex"
    format = "bibtex"


class CitationView(APIView):
    """How to cite a release: CITATION.cff (default) or BibTeX."""

    permission_classes = [AllowAny]
    renderer_classes = [CffRenderer, BibTeXRenderer]

    @extend_schema(
        operation_id="v1_releases_citation",
        summary="How to cite a release: CITATION.cff or BibTeX",
        description="CITATION.cff (YAML) by default or for Accept: application/x-yaml; BibTeX "
        "for Accept: application/x-bibtex or ?format=bibtex. Errors are problem+json.",
        parameters=[
            OpenApiParameter("format", str, enum=["cff", "bibtex"], description="Instead of Accept")
        ],
        responses={
            (200, "application/x-yaml"): OpenApiResponse(OpenApiTypes.STR, "CITATION.cff"),
            (200, "application/x-bibtex"): OpenApiResponse(OpenApiTypes.STR, "A BibTeX entry"),
        },
    )
    def get(self, request, name: str):
        release = get_object_or_404(_releases(), name=name)
        url = reverse("release-detail", args=[release.name], request=request)
        if request.accepted_renderer.format == "bibtex":
            text = citation.citation_bibtex(release, url)
        else:
            text = citation.citation_cff(release, url)
        suffix = "bib" if request.accepted_renderer.format == "bibtex" else "cff"
        disposition = f'inline; filename="release-{release.name}.{suffix}"'
        return Response(text, headers={"Content-Disposition": disposition})

    def perform_content_negotiation(self, request, force=False):
        try:
            return super().perform_content_negotiation(request, force)
        except Http404:
            # DRF answers an unknown ?format= with 404; it is a bad parameter.
            raise ValidationError({"format": ["Use cff or bibtex."]}) from None
