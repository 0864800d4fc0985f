"""The coded vocabularies and their provenance, for looking codes up.

Rows change only by loading a release (`manage.py load_vocabularies`, which also
takes the licensed WHO files): a release records where every code came from, and
a new one is what makes each process reload its vocabulary snapshot. An edit made
here would have neither, and the next load would silently undo it.
"""

from django.contrib import admin

from registry.admin.read_only import ReadOnly
from registry.models import Morphology, Subtype, Topography, VocabularyRelease


class LoadedOnlyAdmin(ReadOnly, admin.ModelAdmin):
    """Read-only pages for rows that only a vocabulary load writes."""


@admin.register(Topography)
class TopographyAdmin(LoadedOnlyAdmin):
    list_display = ["code", "title", "category", "category_title", "site_group", "subtype_family"]
    list_filter = ["site_group", "subtype_family", "category"]
    search_fields = ["^code", "title", "category_title", "site_group"]
    list_select_related = ["release"]


@admin.register(Morphology)
class MorphologyAdmin(LoadedOnlyAdmin):
    list_display = ["code", "title", "histology", "behaviour"]
    list_filter = ["behaviour"]
    search_fields = ["^code", "title"]
    list_select_related = ["release"]


@admin.register(Subtype)
class SubtypeAdmin(LoadedOnlyAdmin):
    list_display = ["code", "title", "family"]
    list_filter = ["family"]
    search_fields = ["code", "title"]
    list_select_related = ["release"]


@admin.register(VocabularyRelease)
class VocabularyReleaseAdmin(LoadedOnlyAdmin):
    list_display = [
        "vocabulary",
        "version",
        "source",
        "loaded_at",
        "rows_created",
        "rows_updated",
        "short_sha256",
    ]
    list_filter = ["vocabulary"]
    search_fields = ["version", "source", "sha256"]

    @admin.display(description="SHA-256")
    def short_sha256(self, release: VocabularyRelease) -> str:
        return release.sha256[:12]
