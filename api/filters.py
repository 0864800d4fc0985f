"""The case filters over HTTP: strict query strings, problem details, the schema.

What each filter means and accepts is declared once, in `registry.case_filters`;
this module adds what only HTTP has: unknown parameters are a 400 (a typo must
not widen the answer), invalid values are a 400 naming the filter, and the
OpenAPI parameters are generated from the same declaration.
"""

from django import forms
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from api.schema import loaded_subtype_codes
from registry import case_filters
from registry.case_filters import CaseFilterSet
from registry.data_dictionary import FILTERS_BY_NAME, AnalystUse
from registry.models import Subtype
from registry.selectors import CaseFilters


def case_filter_set(request, queryset=None, extra_params: frozenset[str] = frozenset()):
    """The filters of the query string, checked; unknown parameters are a 400."""
    unknown = sorted(set(request.query_params) - set(CaseFilterSet.base_filters) - extra_params)
    if unknown:
        raise serializers.ValidationError({name: ["Unknown query parameter."] for name in unknown})
    filters = CaseFilterSet(request.query_params, queryset=queryset)
    if not filters.is_valid():
        raise _invalid(filters.errors)
    return filters


def _invalid(errors) -> serializers.ValidationError:
    """The form's errors as DRF's, codes kept. Not django-filter's translate_validation,
    which formats every message with %, and a message may quote a value with a % in it."""
    return serializers.ValidationError(
        {
            name: [ErrorDetail(" ".join(error), code=error.code) for error in found]
            for name, found in errors.as_data().items()
        }
    )


def case_filters_from(request, extra_params: frozenset[str] = frozenset()) -> CaseFilters:
    """Validated filters from the query string (statistics, which count without a list)."""
    return case_filter_set(request, extra_params=extra_params).case_filters()


class CaseFilterBackend(DjangoFilterBackend):
    """The case list's filters: `CaseFilterSet`, strict about what it does not know."""

    def filter_queryset(self, request, queryset, view):
        if view.action != "list":  # one case is found by its key alone
            return queryset
        return super().filter_queryset(request, queryset, view)

    def get_filterset(self, request, queryset, view):
        paginator = view.paginator
        paging = frozenset({paginator.cursor_query_param, paginator.page_size_query_param})
        return case_filter_set(request, queryset, extra_params=paging)


# ---------------------------------------------------------------- the schema


class CodeListField(serializers.CharField):
    """A list filter in the schema: an array of strings (api.schema.CodeListFieldSchema).

    `schema_choices` (a callable) gives the schema an enum of values the domain
    checks itself, such as the subtypes loaded in this registry.
    """

    def __init__(self, **kwargs):
        self.choices = kwargs.pop("choices", None)
        self.schema_choices = kwargs.pop("schema_choices", None)
        super().__init__(required=False, **kwargs)


def _analysts_note(name: str) -> str:
    """How analysts may use a filter, from its one declaration (`registry.data_dictionary`)."""
    declared = FILTERS_BY_NAME[name]
    if declared.analysts is AnalystUse.ONE_VALUE:
        return "Analysts: one value, never a list."
    if declared.analysts is AnalystUse.GROUPING:
        return "Analysts: one published grouping, never a list."
    if declared.analysts is AnalystUse.VERIFIED_ONLY:
        return "Analysts: verified only (what they count anyway)."
    return f"Curators only. {declared.advice}"


def _schema_field(name: str, declared: forms.Field) -> serializers.Field:
    note = _analysts_note(name)
    help_text = f"{declared.help_text}. {note}" if declared.help_text else note
    described = {"help_text": help_text}
    if isinstance(declared, case_filters.CodeListField):
        from_table = loaded_subtype_codes if declared.vocabulary is Subtype else None
        return CodeListField(
            choices=declared.choices,
            schema_choices=from_table,
            max_length=declared.max_values,  # drf-spectacular: maxItems of the array
            **described,
        )
    if isinstance(declared, forms.IntegerField):
        return serializers.IntegerField(
            required=False, min_value=declared.min_value, max_value=declared.max_value, **described
        )
    return serializers.CharField(required=False, max_length=declared.max_length, **described)


# The form fields of an unbound filter set (a filter's own `.field` would be cached on the
# class's filters and copied with them on every request).
_DECLARED = CaseFilterSet().form.fields

# The parameters of the case list and of every statistics endpoint, as the schema shows them.
CaseFilterParams = type(
    "CaseFilterParams",
    (serializers.Serializer,),
    {
        "__doc__": "Filters of the case list and every statistics endpoint.",
        **{name: _schema_field(name, field) for name, field in _DECLARED.items()},
    },
)


def _echo_field(declared: forms.Field) -> serializers.Field:
    if isinstance(declared, case_filters.CodeListField):
        return serializers.ListField(child=serializers.CharField(), required=False)
    if isinstance(declared, forms.IntegerField):
        return serializers.IntegerField(required=False)
    return serializers.CharField(required=False)


# The same filters as a statistics response echoes them (`filters`).
FiltersEchoSerializer = type(
    "FiltersEchoSerializer",
    (serializers.Serializer,),
    {
        "__doc__": "The filters the counts were made with, as understood (lists normalised).",
        **{name: _echo_field(field) for name, field in _DECLARED.items()},
    },
)
