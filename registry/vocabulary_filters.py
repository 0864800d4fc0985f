"""How the coded vocabularies are looked up: `q` for a code prefix or title words, and
each table's grouping columns matched exactly (the API's /vocabularies/ lists)."""

import django_filters
from django.db.models import Q

from registry.models import Morphology, Subtype, Topography


class VocabularyFilterSet(django_filters.FilterSet):
    """What every vocabulary offers: a search by code prefix or title words."""

    q = django_filters.CharFilter(method="search", help_text="Code prefix or words of the title")

    def search(self, queryset, name: str, text: str):
        text = text.strip()
        if not text:
            return queryset
        return queryset.filter(Q(code__istartswith=text) | Q(title__icontains=text))


class TopographyFilterSet(VocabularyFilterSet):
    class Meta:
        model = Topography
        fields = ["category", "site_group"]


class MorphologyFilterSet(VocabularyFilterSet):
    class Meta:
        model = Morphology
        fields = ["behaviour"]


class SubtypeFilterSet(VocabularyFilterSet):
    class Meta:
        model = Subtype
        fields = ["family"]
