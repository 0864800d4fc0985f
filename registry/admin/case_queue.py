"""Finding and reviewing cases in the queue: list filters, search, the rejection form."""

import re

from django import forms
from django.contrib import admin
from django.db.models import Exists, OuterRef, Q

from registry.deidentification import find_identifiers, identifier_message
from registry.models import Metastasis, Topography

_SITE_CODE = re.compile(r"^C(\d\d)(?:\.?(\d))?$")
_UUID_PREFIX = re.compile(r"^[0-9a-f-]{4,36}$")


def case_search(term: str) -> Q:
    """Cases whose local id holds `term`, whose UUID starts with it, or with a site it codes.

    A site code matches the primary or a metastatic site: C44.4 exactly, C44 as a category.
    """
    match = Q(local_id__icontains=term)
    if _UUID_PREFIX.match(term.lower()):
        match |= Q(uuid__startswith=term.lower())
    code = _SITE_CODE.match(term.upper())
    if code:
        category, digit = code.groups()
        site = {"site_id": f"C{category}.{digit}"} if digit else {"site__category": f"C{category}"}
        primary = {f"primary_{name}": value for name, value in site.items()}
        at_site = Metastasis.objects.filter(case=OuterRef("pk"), **site)
        match |= Q(**primary) | Exists(at_site)
    return match


# ---------------------------------------------------------------- list filters


class _SiteGroupFilter(admin.SimpleListFilter):
    """Cases by the analysis site group (Topography.site_group) of one of their sites."""

    def lookups(self, request, model_admin):
        groups = Topography.objects.order_by("site_group").values_list("site_group", flat=True)
        return [(group, group) for group in groups.distinct()]


class MetastaticSiteGroupFilter(_SiteGroupFilter):
    title = "metastatic site group"
    parameter_name = "metastasis_site_group"

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        # Exists, not a join: a case with two skin metastases is listed once.
        in_group = Metastasis.objects.filter(case=OuterRef("pk"), site__site_group=self.value())
        return queryset.filter(Exists(in_group))


class PrimarySiteGroupFilter(_SiteGroupFilter):
    title = "primary site group"
    parameter_name = "primary_site_group"

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        return queryset.filter(primary_site__site_group=self.value())


# ---------------------------------------------------------------- rejection


class RejectionForm(forms.Form):
    """The reason a curator gives for rejecting cases."""

    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        max_length=2000,
        help_text="Stored with each case and in its history; no identifiers.",
    )

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"]
        kinds = find_identifiers(reason)
        if kinds:
            raise forms.ValidationError(identifier_message(kinds))
        return reason
