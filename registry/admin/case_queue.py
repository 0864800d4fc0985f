"""Finding and reviewing cases in the queue: list filters and the rejection form."""

from django import forms
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters

from registry.case_filters import CaseFilterSet
from registry.deidentification import find_identifiers, identifier_message
from registry.models import Institution, ReviewStatus, Source, Topography

# ---------------------------------------------------------------- list filters
#
# The queue's filters are the API's (`registry.case_filters`), under the same names:
# ?site_group=Skin here selects what /api/v1/cases/?site_group=Skin lists.


def filtered_cases(queryset, params: dict[str, str]):
    """Cases narrowed by case filters; a bad value is the admin's "?e=1" page."""
    filters = CaseFilterSet(params, queryset=queryset)
    if not filters.is_valid():
        raise IncorrectLookupParameters(filters.errors)
    return filters.qs


class _CaseFilter(admin.SimpleListFilter):
    """One case filter in the sidebar, offering its usual values."""

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        return filtered_cases(queryset, {self.parameter_name: self.value()})


class StatusFilter(_CaseFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return ReviewStatus.choices


class SourceFilter(_CaseFilter):
    title = "source"
    parameter_name = "source"

    def lookups(self, request, model_admin):
        return Source.choices


class InstitutionFilter(_CaseFilter):
    title = "institution"
    parameter_name = "institution"

    def lookups(self, request, model_admin):
        return Institution.objects.order_by("code").values_list("code", "name")


class _SiteGroupFilter(_CaseFilter):
    """Cases by the analysis site group (Topography.site_group) of a site."""

    def lookups(self, request, model_admin):
        groups = Topography.objects.order_by("site_group").values_list("site_group", flat=True)
        return [(group, group) for group in groups.distinct()]


class MetastaticSiteGroupFilter(_SiteGroupFilter):
    title = "metastatic site group"
    parameter_name = "site_group"


class PrimarySiteGroupFilter(_SiteGroupFilter):
    """The queue's own: the API selects primaries by code or category."""

    title = "primary site group"
    parameter_name = "primary_site_group"

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        return queryset.filter(primary_site__site_group=self.value())


_IN_THE_SIDEBAR = {
    spec.parameter_name
    for spec in (
        StatusFilter,
        SourceFilter,
        InstitutionFilter,
        MetastaticSiteGroupFilter,
        PrimarySiteGroupFilter,
    )
}


class OtherCaseFilters(admin.ListFilter):
    """Every other case filter, given in the URL (?site=C44.4&age_min=50), shown while used."""

    title = "other case filters"
    # `q` is the admin's search box, which means what the API's q means (registry.case_search).
    names = [name for name in CaseFilterSet.base_filters if name not in _IN_THE_SIDEBAR | {"q"}]

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        # Repeated, a filter reads as its values separated by commas, as in the API.
        self.given = {name: ",".join(params.pop(name)) for name in self.names if name in params}

    def has_output(self) -> bool:
        return bool(self.given)

    def expected_parameters(self) -> list[str]:
        return self.names

    def queryset(self, request, queryset):
        return filtered_cases(queryset, self.given) if self.given else queryset

    def choices(self, changelist):
        yield {
            "selected": False,
            "query_string": changelist.get_query_string(remove=self.names),
            "display": "All",
        }
        yield {
            "selected": True,
            "query_string": changelist.get_query_string(),
            "display": ", ".join(f"{name}={value}" for name, value in self.given.items()),
        }


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
