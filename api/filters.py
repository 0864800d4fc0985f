"""Query parameters shared by the case list and the statistics.

Each list-valued filter takes one value or several, separated by commas
(`site=C44.4,C44.3`) or as a repeated parameter (`site=C44.4&site=C44.3`, what
clients generated from the schema send). Bad values are a 400 problem, not an
empty result.
"""

import re

from rest_framework import serializers

from api.schema import loaded_subtype_codes
from registry.access import PUBLISHED_AGE_BANDS, period_range
from registry.models import ReviewStatus, Sex, Source
from registry.models.case import FIRST_YEAR, MAX_AGE
from registry.models.choices import Misdiagnosis, Modality, Presentation, Response, VitalStatus
from registry.selectors import CaseFilters

# Every list filter at this length, with `q` and the paging parameters, still fits in
# settings.MAX_URL_LENGTH (about 6,100 of 8,000 characters), so no valid query is a 414.
MAX_LIST_FILTER_LENGTH = 400


class CodeListField(serializers.CharField):
    """Comma-separated codes, returned as a tuple; an array of strings in the schema.

    `schema_choices` (a callable) gives the schema an enum of values the domain
    checks itself, such as the subtypes loaded in this registry.
    """

    def __init__(self, **kwargs):
        self.choices = kwargs.pop("choices", None)
        self.schema_choices = kwargs.pop("schema_choices", None)
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", MAX_LIST_FILTER_LENGTH)
        super().__init__(**kwargs)
        if self.choices is not None:
            # Exactly the choices, comma-separated (the schema's enum, repeated or joined).
            one = "|".join(re.escape(choice) for choice in self.choices)
            self.pattern = f"^({one})(,({one}))*$"

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        if self.choices is not None and not re.fullmatch(self.pattern, text):
            raise serializers.ValidationError(
                f"Give one or more of {', '.join(self.choices)}, separated by commas."
            )
        values = tuple(dict.fromkeys(v.strip() for v in text.split(",") if v.strip()))
        if not values:
            raise serializers.ValidationError("Give at least one value.")
        return values


def _year(**kwargs):
    return serializers.IntegerField(required=False, min_value=FIRST_YEAR, max_value=2100, **kwargs)


def _age(**kwargs):
    return serializers.IntegerField(required=False, min_value=0, max_value=MAX_AGE, **kwargs)


class CaseFilterParams(serializers.Serializer):
    """Filters of the case list and every statistics endpoint."""

    site = CodeListField(help_text="Metastatic site code(s), e.g. C44.4")
    site_category = CodeListField(help_text="Metastatic site category(ies), e.g. C44")
    site_group = CodeListField(help_text="Metastatic site group(s), e.g. Skin")
    primary = CodeListField(help_text="Primary site code(s), e.g. C50.9")
    primary_category = CodeListField(help_text="Primary site category(ies), e.g. C50")
    morphology = CodeListField(help_text="Primary morphology code(s), e.g. 8500/3")
    subtype = CodeListField(
        help_text="Subtype code(s), e.g. triple_negative", schema_choices=loaded_subtype_codes
    )
    sex = CodeListField(choices=Sex.values)
    age_min = _age(help_text="Youngest age at diagnosis (inclusive)")
    age_max = _age(
        help_text=f"Oldest age at diagnosis (inclusive); {MAX_AGE} means {MAX_AGE} or over"
    )
    year_min = _year(help_text="First year of primary diagnosis (inclusive)")
    year_max = _year(help_text="Last year of primary diagnosis (inclusive)")
    status = CodeListField(choices=ReviewStatus.values)
    source = CodeListField(choices=Source.values)
    institution = CodeListField(help_text="Institution code(s)")
    q = serializers.CharField(
        required=False, max_length=200, help_text="Search: local id, UUID, site code, text"
    )
    age_band = CodeListField(
        choices=list(PUBLISHED_AGE_BANDS),
        help_text="Published age band(s) at diagnosis, e.g. 50-59 or 50-69 (the way analysts "
        "select ages)",
    )
    period = CodeListField(
        help_text="Year(s) of primary diagnosis or five-year period(s), e.g. 2019 or 2015-2019 "
        "(the way analysts select years)"
    )

    presentation = CodeListField(
        choices=Presentation.values, help_text="Cases with a metastasis that presented so"
    )
    misdiagnosis = CodeListField(
        choices=Misdiagnosis.values, help_text="Cases with a metastasis first taken for this"
    )
    modality = CodeListField(choices=Modality.values, help_text="Cases given this treatment")
    response = CodeListField(choices=Response.values, help_text="Cases with a treatment response")
    vital_status = CodeListField(choices=VitalStatus.values)

    def validate_period(self, value):
        for text in value:
            try:
                period_range(text)
            except ValueError:
                raise serializers.ValidationError(
                    f"'{text}' is not a year (2019) or a five-year period (2015-2019)."
                ) from None
        return value

    def validate(self, attrs):
        for low, high in (("age_min", "age_max"), ("year_min", "year_max")):
            if low in attrs and high in attrs and attrs[low] > attrs[high]:
                raise serializers.ValidationError({low: f"{low} is greater than {high}."})
        return attrs

    def filters(self) -> CaseFilters:
        return CaseFilters(**self.validated_data)


def case_filters_from(request, extra_params: frozenset[str] = frozenset()) -> CaseFilters:
    """Validated filters from the query string; unknown parameters are a 400."""
    known = set(CaseFilterParams().fields) | set(extra_params)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise serializers.ValidationError({name: ["Unknown query parameter."] for name in unknown})
    fields = CaseFilterParams().fields
    params = CaseFilterParams(
        data={
            # A repeated list filter is the same as its values separated by commas.
            name: ",".join(request.query_params.getlist(name))
            if isinstance(fields.get(name), CodeListField)
            else request.query_params.get(name)
            for name in request.query_params
        }
    )
    params.is_valid(raise_exception=True)
    return params.filters()
