"""The case filters, declared once: the API's case list and statistics, and the admin's queue.

A django-filter `FilterSet` is a Django form plus how it narrows a queryset, so
the plain-Django admin and the REST API read the same declaration. The form
checks the values; what they select is `registry.selectors.case_conditions`,
which also counts from the counted-metastasis table, so a count always matches
the list it summarises. Each filter is declared once, in `registry.data_dictionary`;
the filter set is made from those declarations.

Each list-valued filter takes one value or several, separated by commas
(`site=C44.4,C44.3`) or as a repeated parameter (`site=C44.4&site=C44.3`, what
clients generated from the schema send). A bad value is an error naming the
filter, never an empty result.
"""

import copy
import functools
import re

import django_filters
from django import forms
from django.db.models import QuerySet

from registry import data_dictionary
from registry.data_dictionary import LAST_YEAR, Kind, period_range
from registry.models import Case
from registry.models.case import FIRST_YEAR, MAX_AGE
from registry.selectors import CaseFilters, case_conditions

# Distinct values a list filter takes (more than the registry has topography codes).
MAX_LIST_FILTER_VALUES = 400
MAX_SEARCH_LENGTH = 200

_BLANK = "This field may not be blank."
_TOO_LONG = "Ensure this field has no more than %(limit_value)d characters."


class CodeListField(forms.CharField):
    """Comma-separated codes as a tuple of distinct values; with `choices`, exactly those."""

    max_values = MAX_LIST_FILTER_VALUES

    def __init__(self, *, choices=None, vocabulary=None, **kwargs):
        self.choices = list(choices) if choices is not None else None
        self.vocabulary = vocabulary  # the table its codes come from, for the schema's enum
        super().__init__(**kwargs)
        if self.choices is not None:
            one = "|".join(re.escape(choice) for choice in self.choices)
            self.pattern = re.compile(f"({one})(,({one}))*")

    def clean(self, value):
        if value is None:  # not given
            return None
        if not value.strip():
            raise forms.ValidationError(_BLANK, code="blank")
        text = super().clean(value)
        if self.choices is not None and not self.pattern.fullmatch(text):
            raise forms.ValidationError(
                f"Give one or more of {', '.join(self.choices)}, separated by commas.",
                code="invalid",
            )
        values = tuple(dict.fromkeys(v.strip() for v in text.split(",") if v.strip()))
        if not values:
            raise forms.ValidationError("Give at least one value.", code="invalid")
        if len(values) > self.max_values:
            message = f"Give at most {self.max_values} values."
            raise forms.ValidationError(message, code="max_length")
        return values


class WholeNumberField(forms.IntegerField):
    """A whole number within bounds; given empty, an error rather than "any"."""

    default_error_messages = {"invalid": "A valid integer is required."}

    def clean(self, value):
        if value is not None and not str(value).strip():
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().clean(value)


class SearchField(forms.CharField):
    """The search term (`registry.case_search`); given empty, an error."""

    def __init__(self, **kwargs):
        kwargs.setdefault("error_messages", {"max_length": _TOO_LONG})
        super().__init__(max_length=MAX_SEARCH_LENGTH, empty_value=None, **kwargs)

    def clean(self, value):
        if value is not None and not value.strip():
            raise forms.ValidationError(_BLANK, code="blank")
        return super().clean(value)


class CaseFilterForm(forms.Form):
    """The checks across filters: published periods, and ranges that are not empty."""

    def clean_period(self):
        for text in self.cleaned_data["period"] or ():
            try:
                period_range(text)
            except ValueError:
                message = f"'{text}' is not a year (2019) or a five-year period (2015-2019)."
                raise forms.ValidationError(message, code="invalid") from None
        return self.cleaned_data["period"]

    def clean(self):
        values = super().clean()
        for low, high in (("age_min", "age_max"), ("year_min", "year_max")):
            first, last = values.get(low), values.get(high)
            if first is not None and last is not None and first > last:
                message = f"{low} is greater than {high}."
                self.add_error(low, forms.ValidationError(message, code="invalid"))
        return values


class _DeclaredFilter(django_filters.Filter):
    """A filter that only declares its form field (`CaseFilterSet.filter_queryset` selects).

    Nothing of it changes per request, so a filter set made for one needs no deep copy.
    """

    def __deepcopy__(self, memo):
        return copy.copy(self)


class CodeListFilter(_DeclaredFilter):
    field_class = CodeListField


class WholeNumberFilter(_DeclaredFilter):
    field_class = WholeNumberField


class SearchFilter(_DeclaredFilter):
    field_class = SearchField


def _declared_filter(declared: data_dictionary.CaseFilter) -> _DeclaredFilter:
    """The form side of one filter of `registry.data_dictionary`."""
    described = {"help_text": declared.help or None}
    if declared.kind is Kind.AGE:
        return WholeNumberFilter(min_value=0, max_value=MAX_AGE, **described)
    if declared.kind is Kind.YEAR:
        return WholeNumberFilter(min_value=FIRST_YEAR, max_value=LAST_YEAR, **described)
    if declared.kind is Kind.SEARCH:
        return SearchFilter(**described)
    return CodeListFilter(choices=declared.choices, vocabulary=declared.vocabulary, **described)


class _CaseFilterSet(django_filters.FilterSet):
    """Filters of the case list, every statistics endpoint and the admin's queue.

    The filters themselves are `registry.data_dictionary.FILTERS`, added below.
    """

    class Meta:
        model = Case
        fields: list[str] = []  # every filter is declared above
        form = CaseFilterForm

    def __init__(self, data=None, *args, **kwargs):
        if data is not None and hasattr(data, "getlist"):
            # A repeated list filter is the same as its values separated by commas.
            data = {
                name: ",".join(data.getlist(name)) if self._is_list(name) else data.get(name)
                for name in data
            }
        super().__init__(data, *args, **kwargs)

    @classmethod
    def _is_list(cls, name: str) -> bool:
        return isinstance(cls.base_filters.get(name), CodeListFilter)

    @classmethod
    @functools.cache
    def _form_class(cls) -> type[forms.Form]:
        fields = {name: declared.field for name, declared in cls.base_filters.items()}
        return type(f"{cls.__name__}Form", (cls._meta.form,), fields)

    def get_form_class(self) -> type[forms.Form]:
        # The same fields on every request: made once, not per filter set as django-filter does.
        return self._form_class()

    def case_filters(self) -> CaseFilters:
        """The valid filters given (call `is_valid` first)."""
        values = self.form.cleaned_data
        given = {name: value for name, value in values.items() if value is not None}
        return CaseFilters(**given)

    def filter_queryset(self, queryset: QuerySet[Case]) -> QuerySet[Case]:
        return queryset.filter(case_conditions(self.case_filters()))


CaseFilterSet = type(
    "CaseFilterSet",
    (_CaseFilterSet,),
    {
        "__doc__": _CaseFilterSet.__doc__,
        "__module__": __name__,
        **{declared.name: _declared_filter(declared) for declared in data_dictionary.FILTERS},
    },
)
