"""Statistics: their query options and their self-describing response documents.

Every response says what was counted (`counting`, `description`), for which
cases (`filters`, `counted_statuses`) and what was hidden (`suppression`), so a
saved response still makes sense on its own. A suppressed number is `null` with
`"suppressed": true`, never the number.
"""

import dataclasses

from rest_framework import serializers

from api.filters import FiltersEchoSerializer
from registry.access import AGE_BAND_SCHEMES, StatisticsAccess
from registry.models import ReviewStatus
from registry.models.case import MAX_AGE
from registry.selectors import CaseFilters
from registry.services.releases import NAME as RELEASE_NAME
from registry.stats import (
    DEFAULT_AGE_BANDS,
    SITE_LEVELS,
    AgeBands,
    CountTable,
    CrossTable,
    Dimension,
    IntervalTable,
    Row,
)

PROTECTION_RULE = (
    "Cell-key perturbation (ABS TableBuilder, ONS 2021 Census): every published count is the "
    "true count plus a small fixed perturbation (-2 to +2) determined by exactly the cases in "
    "it, so the same cases always give the same number and differences between tables are not "
    "exact. Counts below {threshold} are never published: a row below it is left out (a value "
    "with no case looks the same) and a cross-table cell below it is null with suppressed: "
    "true. Shares and quartiles come from perturbed counts; no minimum or maximum is given."
)
EXACT_RULE = "Curators see exact counts: nothing is perturbed or hidden."

DIMENSIONS = [dimension.value for dimension in Dimension]

# ---------------------------------------------------------------- query options


class AgeBandsField(serializers.CharField):
    """Lower bounds of the age bands, comma-separated: 0,40,50,60,70,80."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text",
            "Lower bounds of the age bands for age_band, starting at 0 "
            f"(default {','.join(map(str, DEFAULT_AGE_BANDS.lower_bounds))}: 0-39, 40-49, ..., "
            "80+), or a published scheme's name: "
            + ", ".join(f"{name} ({','.join(map(str, b))})" for name, b in AGE_BAND_SCHEMES.items())
            + ". Analysts use a published scheme. "
            + f"Ages over {MAX_AGE - 1} are recorded as {MAX_AGE}.",
        )
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> AgeBands:
        text = super().to_internal_value(data)
        if text in AGE_BAND_SCHEMES:
            return AgeBands(AGE_BAND_SCHEMES[text])
        if len(text) > 200:
            raise serializers.ValidationError("Give at most 200 characters.")
        try:
            bounds = tuple(int(part) for part in text.split(","))
        except ValueError:
            raise serializers.ValidationError(
                "Give whole numbers separated by commas, e.g. 0,40,50,60,70,80."
            ) from None
        if len(bounds) > 20:
            raise serializers.ValidationError("Give at most 20 bands.")
        try:
            return AgeBands(bounds)
        except ValueError as error:
            raise serializers.ValidationError(str(error)) from None


DIMENSION_HELP = (
    "site, site_category, site_group (metastatic site: code, 3-character category, "
    "analysis group); primary, primary_category, primary_group (primary site); morphology; "
    "subtype; sex; age_band (see bands); year (of primary diagnosis); period (five-year "
    "period of primary diagnosis, 2015-2019); per metastasis: presentation, misdiagnosis "
    "(what it was first taken for), misdiagnosed (yes/no), confirmation (method), "
    "months_to_metastasis (bands of months from primary diagnosis: 0, 1-6, 7-12, 13-24, "
    "25-60, 61+); per treatment: modality, response (no_treatment for a case with none); "
    "vital_status; diagnostic_sequence (what was found first: primary_first, "
    "metastasis_first, simultaneous)"
)


def _dimension(help_text: str) -> serializers.ChoiceField:
    return serializers.ChoiceField(choices=DIMENSIONS, help_text=f"{help_text}: {DIMENSION_HELP}")


def _site_level() -> serializers.ChoiceField:
    return serializers.ChoiceField(
        choices=list(SITE_LEVELS),
        default="site_group",
        help_text="Count at the site's ICD-O-3 code (C44.4), category (C44) or site group (Skin)",
    )


class ReleaseNameField(serializers.RegexField):
    """A release's name: given blank, with a trailing newline or too long, it is a 400."""

    def __init__(self, **kwargs):
        super().__init__(
            r"^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$",
            max_length=32,
            trim_whitespace=False,
            required=False,
            **kwargs,
        )

    def get_value(self, dictionary):
        # A blank value is refused as every blank filter is, not read as "not given".
        return dictionary.get(self.field_name, serializers.empty)

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        if not RELEASE_NAME.fullmatch(text):
            raise serializers.ValidationError("Name a release, e.g. 2026.4.", code="invalid")
        return text


class ReleaseOption(serializers.Serializer):
    release = ReleaseNameField(
        help_text="The release to count, e.g. 2026.4 (GET /api/v1/releases/). Analysts count "
        "the newest release by default, curators the live data. A retired release answers 410 "
        "naming its successor.",
    )


class SiteOptions(serializers.Serializer):
    group_by = _site_level()


class CountOptions(serializers.Serializer):
    by = _dimension("What to count cases by")
    bands = AgeBandsField()


class CrosstabOptions(serializers.Serializer):
    rows = _dimension("Dimension of the rows")
    cols = _dimension("Dimension of the columns")
    bands = AgeBandsField()


# ---------------------------------------------------------------- response documents


class SuppressionSerializer(serializers.Serializer):
    threshold = serializers.IntegerField(help_text="REGISTRY_MIN_CELL_COUNT: smallest count shown")
    applied = serializers.BooleanField(help_text="False for curators, who see exact counts")
    method = serializers.ChoiceField(
        choices=["cell_key", "none"],
        help_text="cell_key: counts perturbed by the cell-key method; none: exact (curators)",
    )
    suppressed = serializers.IntegerField(
        allow_null=True,
        help_text="How many numbers of this table are hidden; null where protection applies, "
        "since telling it would tell empty values from small ones",
    )
    rule = serializers.CharField()


class Document(serializers.Serializer):
    counting = serializers.ChoiceField(
        choices=["cases", "cases_and_metastases", "metastases"],
        help_text="The unit counted: cases (patients), and metastases (lesions) where given",
    )
    description = serializers.CharField(help_text="What each number counts, in words")
    filters = FiltersEchoSerializer()
    counted_statuses = serializers.ListField(
        child=serializers.ChoiceField(choices=ReviewStatus.values),
        help_text="Review statuses of the cases counted (analysts: verified only)",
    )
    suppression = SuppressionSerializer()
    release = serializers.CharField(
        allow_null=True,
        help_text="The release counted, e.g. 2026.4; null: the live data (curators, or "
        "analysts before the registry's first release)",
    )
    generated_at = serializers.CharField(
        help_text="When the counted data was fixed: the release's date, or the time of the "
        "request for live data (UTC, ISO 8601)"
    )
    provenance = serializers.CharField(
        help_text="Release, counted statuses, filters and protection on one line, for a "
        "methods section"
    )


def count_field(**kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(allow_null=True, **kwargs)


class CountRowSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="Code or value; 'unknown' when not recorded")
    label = serializers.CharField()
    cases = count_field(help_text="Cases; null when suppressed")
    suppressed = serializers.BooleanField()


class CountTotalSerializer(serializers.Serializer):
    label = serializers.CharField()
    cases = count_field(help_text="Cases selected by the filters, each once")
    suppressed = serializers.BooleanField()


class SiteCountRowSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="Site code, category or group")
    label = serializers.CharField()
    cases = count_field(help_text="Cases with a metastasis here, each once; null when suppressed")
    metastases = count_field(help_text="Metastases (lesions) here; null when suppressed")
    suppressed = serializers.BooleanField()


class SiteCountTotalSerializer(serializers.Serializer):
    label = serializers.CharField()
    cases = count_field(help_text="Cases selected by the filters, each once")
    metastases = count_field(help_text="All their metastases")
    suppressed = serializers.BooleanField()


class SiteCountsSerializer(Document):
    group_by = serializers.ChoiceField(choices=list(SITE_LEVELS))
    rows = SiteCountRowSerializer(many=True)
    total = SiteCountTotalSerializer()


class DimensionCountsSerializer(Document):
    dimension = serializers.ChoiceField(choices=DIMENSIONS)
    bands = serializers.ListField(
        child=serializers.IntegerField(),
        allow_null=True,
        help_text="Lower bounds of the age bands when the dimension is age_band",
    )
    rows = CountRowSerializer(many=True)
    total = CountTotalSerializer()


class CellSerializer(serializers.Serializer):
    cases = count_field(help_text="Cases; null when suppressed")
    suppressed = serializers.BooleanField()


class KeyedCellSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="The column's key")
    cases = count_field(help_text="Cases; null when suppressed")
    suppressed = serializers.BooleanField()


class ColumnSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()


class CrosstabRowSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    cells = KeyedCellSerializer(many=True, help_text="One per column, in the order of columns")
    total = CellSerializer(help_text="Cases with this row's value")


class CrosstabSerializer(Document):
    rows_dimension = serializers.ChoiceField(choices=DIMENSIONS)
    cols_dimension = serializers.ChoiceField(choices=DIMENSIONS)
    bands = serializers.ListField(child=serializers.IntegerField(), allow_null=True)
    columns = ColumnSerializer(many=True)
    rows = CrosstabRowSerializer(many=True)
    column_totals = KeyedCellSerializer(many=True, help_text="Cases with each column's value")
    total = CellSerializer(help_text="Cases selected by the filters, each once")


def _interval_statistics() -> dict[str, serializers.Field]:
    """The fields of an intervals row, after its key and label."""
    return {
        "cases": count_field(help_text="Cases with a metastasis here whose interval is known"),
        "metastases": count_field(help_text="n: metastases here with a known interval"),
        "median": serializers.FloatField(allow_null=True),
        "q1": serializers.FloatField(allow_null=True, help_text="First quartile"),
        "q3": serializers.FloatField(allow_null=True, help_text="Third quartile"),
        "min": serializers.IntegerField(source="minimum", allow_null=True),
        "max": serializers.IntegerField(source="maximum", allow_null=True),
        "share_synchronous": serializers.FloatField(
            allow_null=True, help_text="Share of these metastases found at diagnosis (month 0)"
        ),
        "suppressed": serializers.BooleanField(),
    }


# Built from one field list so that a row and the total cannot drift apart.
IntervalRowSerializer = type(
    "IntervalRowSerializer",
    (serializers.Serializer,),
    {
        "key": serializers.CharField(help_text="Site code, category or group"),
        "label": serializers.CharField(),
        **_interval_statistics(),
    },
)
IntervalTotalSerializer = type(
    "IntervalTotalSerializer",
    (serializers.Serializer,),
    {"label": serializers.CharField(), **_interval_statistics()},
)


class IntervalsSerializer(Document):
    group_by = serializers.ChoiceField(choices=list(SITE_LEVELS))
    unit = serializers.ChoiceField(choices=["months"])
    rows = IntervalRowSerializer(many=True)
    total = IntervalTotalSerializer()


# ---------------------------------------------------------------- building documents


def filters_echo(filters: CaseFilters) -> dict:
    echo = {}
    for field in dataclasses.fields(filters):
        value = getattr(filters, field.name)
        if value is not None:
            echo[field.name] = list(value) if isinstance(value, tuple) else value
    return echo


def document(
    *,
    counting: str,
    description: str,
    filters: CaseFilters,
    access: StatisticsAccess,
    hidden: int | None,
) -> dict:
    """The part every statistics response shares."""
    statuses = access.counted_statuses or filters.status or ReviewStatus.values
    return {
        "counting": counting,
        "description": description,
        "filters": filters_echo(filters),
        "counted_statuses": list(statuses),
        "suppression": {
            "threshold": access.threshold,
            "applied": not access.exact,
            "method": "none" if access.exact else "cell_key",
            "suppressed": hidden,
            "rule": EXACT_RULE
            if access.exact
            else PROTECTION_RULE.format(threshold=access.threshold),
        },
    }


def _row(row: Row) -> dict:
    return {
        "key": row.key,
        "label": row.label,
        "cases": row.cases,
        "metastases": row.metastases,
        "suppressed": row.suppressed,
    }


def site_counts_document(table: CountTable, *, group_by: str, **context) -> dict:
    return {
        **document(
            counting="cases_and_metastases",
            description=(
                "cases: cases with at least one metastasis at the site (two lesions there count "
                "once); metastases: lesions at the site. A case with metastases at several sites "
                "counts at each, so the rows add up to more than the total, which counts each "
                "selected case once."
            ),
            hidden=table.hidden,
            **context,
        ),
        "group_by": group_by,
        "rows": [_row(row) for row in table.rows],
        "total": _row(table.total),
    }


def dimension_counts_document(table: CountTable, **context) -> dict:
    several = table.dimension.several_per_case
    return {
        **document(
            counting="cases",
            description=(
                "Cases per value"
                + (
                    "; a case counts once at each value of any of its metastases (or "
                    "treatments), so the rows add up to more than the total"
                    if several
                    else ""
                )
                + ". 'unknown' counts cases where the value is not recorded."
            ),
            hidden=table.hidden,
            **context,
        ),
        "dimension": table.dimension.value,
        "bands": list(table.bands.lower_bounds) if table.bands else None,
        "rows": [_row(row) for row in table.rows],
        "total": _row(table.total),
    }


def crosstab_document(table: CrossTable, **context) -> dict:
    columns = [{"key": col.key, "label": col.label} for col in table.columns]

    def cell(key, item) -> dict:
        return {"key": key, "cases": item.cases, "suppressed": item.suppressed}

    return {
        **document(
            counting="cases",
            description=(
                "Cases per pair of values: a case counts in every cell whose row value and "
                "column value it has (a site value from any of its metastases). Two values "
                "of the same metastasis or treatment (site and presentation, modality and "
                "response) pair on that metastasis or treatment. Row and column totals count "
                "cases with that value, each once; the total counts the cases selected."
            ),
            hidden=table.hidden,
            **context,
        ),
        "rows_dimension": table.rows_dimension.value,
        "cols_dimension": table.cols_dimension.value,
        "bands": list(table.bands.lower_bounds) if table.bands else None,
        "columns": columns,
        "rows": [
            {
                "key": row.key,
                "label": row.label,
                "cells": [cell(col["key"], item) for col, item in zip(columns, cells, strict=True)],
                "total": {"cases": row.cases, "suppressed": row.suppressed},
            }
            for row, cells in zip(table.rows, table.cells, strict=True)
        ],
        "column_totals": [cell(col.key, col) for col in table.columns],
        "total": {"cases": table.total.cases, "suppressed": table.total.suppressed},
    }


def intervals_document(table: IntervalTable, *, group_by: str, **context) -> dict:
    return {
        **document(
            counting="metastases",
            description=(
                "Months from primary diagnosis to metastasis, over metastases with a known "
                "interval (n = metastases). Quartiles interpolate (PostgreSQL percentile_cont). "
                "A row is hidden when fewer cases than the threshold contribute to it."
            ),
            hidden=table.hidden,
            **context,
        ),
        "group_by": group_by,
        "unit": "months",
        "rows": [dataclasses.asdict(row) for row in table.rows],
        "total": dataclasses.asdict(table.total),
    }
