"""`/api/v1/stats/`: counts for analysts and curators, protected for analysts.

Each endpoint takes the filters of the case list, asks the access policy
(`registry.access`) what this user may ask and see, counts through
`registry.stats`, protects the numbers for everyone but curators and answers
JSON. Each also has a `.csv` twin (`stats/sites.csv`, `stats/counts.csv`, ...):
one operation per media type, so a client generated from the schema parses each
answer as what it is. The JSON paths still answer CSV for `Accept: text/csv` or
`?format=csv`, as before the twins existed.
"""

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from api.filters import CaseFilterParams, case_filters_from
from api.permissions import CanReadStatistics
from api.renderers import CSVRenderer
from api.serializers import stats as shapes
from api.stats_examples import (
    CROSSTAB_CSV_EXAMPLE,
    CROSSTAB_EXAMPLES,
    DIMENSION_COUNTS_CSV_EXAMPLE,
    DIMENSION_COUNTS_EXAMPLES,
    INTERVALS_CSV_EXAMPLE,
    INTERVALS_EXAMPLES,
    SITE_COUNTS_CSV_EXAMPLE,
    SITE_COUNTS_EXAMPLES,
)
from registry import access, stats
from registry.selectors import CaseFilters, CountedSelection, given_filters

# `?format=` is left out of the schema: each operation answers one media type
# (the JSON paths still honour format=csv for clients written before the twins).
NO_FORMAT = OpenApiParameter("format", exclude=True)


def _responses(serializer, examples) -> dict:
    return {
        (200, "application/json"): OpenApiResponse(
            serializer, description="The table; a suppressed number is null", examples=examples
        ),
    }


def _csv_responses(csv_example) -> dict:
    return {
        (200, "text/csv"): OpenApiResponse(
            OpenApiTypes.STR,
            description="The table as CSV; a suppressed number is empty",
            examples=[csv_example],
        ),
    }


def _csv_twin(json_view, *, operation_id: str, json_path: str, summary: str, options, csv_example):
    """The same counts as `json_view`, as text/csv only, under its own operation."""
    twin = type(
        json_view.__name__.replace("View", "CsvView"),
        (json_view,),
        {"renderer_classes": [CSVRenderer], "__doc__": f"{json_view.__doc__} As CSV."},
    )
    operation = extend_schema(
        operation_id=operation_id,
        summary=f"{summary} (CSV)",
        description=(
            f"The table of GET {json_path} with the same parameters, as text/csv: a "
            "hidden number is an empty field and its line's `suppressed` is true. "
            "Errors are problem+json documents."
        ),
        parameters=[CaseFilterParams, options, NO_FORMAT],
        responses=_csv_responses(csv_example),
    )
    return extend_schema_view(get=operation)(twin)


class StatisticsView(APIView):
    """Shared steps: parse filters and options, ask the access policy, count, protect, render."""

    permission_classes = [CanReadStatistics]
    renderer_classes = [JSONRenderer, CSVRenderer]
    options_class = shapes.SiteOptions
    document_class = shapes.SiteCountsSerializer
    csv_name = "statistics"

    def get(self, request):
        extra = frozenset({*self.options_class().fields, "format"})
        filters = case_filters_from(request, extra_params=extra)
        options = self.options_class(data=request.query_params)
        options.is_valid(raise_exception=True)
        bands = options.validated_data.get("bands")
        access.check_statistics_query(
            request.user,
            parameters=given_filters(filters),
            age_bands=bands.lower_bounds if bands is not None else None,
        )
        selection = CountedSelection(request.user, filters)
        policy = access.statistics_access(request.user)
        body = self.count(selection, filters=filters, access=policy, **options.validated_data)
        return Response(self.document_class(body).data)

    def count(
        self,
        selection: CountedSelection,
        *,
        filters: CaseFilters,
        access: access.StatisticsAccess,
        **options,
    ) -> dict:
        raise NotImplementedError

    def perform_content_negotiation(self, request, force=False):
        try:
            return super().perform_content_negotiation(request, force)
        except Http404:
            # DRF answers an unknown ?format= with 404; it is a bad parameter.
            raise ValidationError({"format": ["Use json or csv."]}) from None

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        renderer = getattr(request, "accepted_renderer", None)
        if response.status_code == 200 and isinstance(renderer, CSVRenderer):
            response["Content-Disposition"] = f'attachment; filename="{self.csv_name}.csv"'
        return response


@extend_schema(
    summary="Cases and metastases per metastatic site",
    description=(
        "Counts per ICD-O-3 site code, category or site group of the metastases of the cases "
        "selected by the filters. A case with two lesions at one site is one case and two "
        "metastases there. Curators see exact counts; for analysts every count is perturbed "
        "by the cell-key method and a site with fewer cases than REGISTRY_MIN_CELL_COUNT is "
        "left out. CSV (stats/sites.csv): key,label,cases,metastases,suppressed; the last line "
        "is the total."
    ),
    parameters=[CaseFilterParams, shapes.SiteOptions, NO_FORMAT],
    responses=_responses(shapes.SiteCountsSerializer, SITE_COUNTS_EXAMPLES),
)
class SiteCountsView(StatisticsView):
    """Cases and metastases per metastatic site."""

    options_class = shapes.SiteOptions
    document_class = shapes.SiteCountsSerializer
    csv_name = "site-counts"

    def count(self, selection, *, group_by: str, **context) -> dict:
        table = stats.site_counts(selection=selection, group_by=group_by)
        return shapes.site_counts_document(
            table.protected(context["access"]), group_by=group_by, **context
        )


@extend_schema(
    summary="Cases per primary site, morphology, subtype, sex, age band or year",
    description=(
        "Cases per value of one dimension (`by`); `bands` sets the age bands. Values not "
        "recorded are counted as `unknown`. Protection as for site counts. "
        "CSV (stats/counts.csv): key,label,cases,suppressed; the last line is the total."
    ),
    parameters=[CaseFilterParams, shapes.CountOptions, NO_FORMAT],
    responses=_responses(shapes.DimensionCountsSerializer, DIMENSION_COUNTS_EXAMPLES),
)
class DimensionCountsView(StatisticsView):
    """Cases per value of one dimension."""

    options_class = shapes.CountOptions
    document_class = shapes.DimensionCountsSerializer
    csv_name = "counts"

    def count(self, selection, *, by: str, bands=stats.DEFAULT_AGE_BANDS, **context) -> dict:
        table = stats.dimension_counts(
            selection=selection, dimension=stats.Dimension(by), bands=bands
        )
        return shapes.dimension_counts_document(table.protected(context["access"]), **context)


@extend_schema(
    summary="Cross-table of cases by two dimensions, with row and column totals",
    description=(
        "Cases per pair of values of `rows` and `cols` (e.g. rows=site_group&cols=subtype). "
        "Row and column totals equal the one-way counts of the same filters (for analysts: the "
        "same protected numbers). For analysts, rows and columns below the threshold are left "
        "out and a cell below it is null with suppressed: true, whether it holds no case or "
        "a few. CSV (stats/crosstab.csv, long form): "
        "row_key,row_label,col_key,col_label,cases,suppressed; row totals have an empty "
        "col_key, column totals an empty row_key, the grand total both."
    ),
    parameters=[CaseFilterParams, shapes.CrosstabOptions, NO_FORMAT],
    responses=_responses(shapes.CrosstabSerializer, CROSSTAB_EXAMPLES),
)
class CrosstabView(StatisticsView):
    """Cases by two dimensions."""

    options_class = shapes.CrosstabOptions
    document_class = shapes.CrosstabSerializer
    csv_name = "crosstab"

    def count(self, selection, *, rows: str, cols: str, bands=stats.DEFAULT_AGE_BANDS, **context):
        table = stats.crosstab(
            selection=selection,
            rows=stats.Dimension(rows),
            cols=stats.Dimension(cols),
            bands=bands,
        )
        return shapes.crosstab_document(table.protected(context["access"]), **context)


@extend_schema(
    summary="Months from primary diagnosis to metastasis, per metastatic site",
    description=(
        "Over metastases with a known interval: n, median, quartiles, min, max and the share "
        "synchronous (month 0), exact for curators. For analysts, n and the share come from "
        "perturbed counts, the quartiles from a histogram of perturbed counts, min and max are "
        "null, and a row with fewer contributing cases than REGISTRY_MIN_CELL_COUNT is left "
        "out. CSV (stats/intervals.csv): "
        "key,label,cases,metastases,median,q1,q3,min,max,share_synchronous,suppressed."
    ),
    parameters=[CaseFilterParams, shapes.SiteOptions, NO_FORMAT],
    responses=_responses(shapes.IntervalsSerializer, INTERVALS_EXAMPLES),
)
class IntervalsView(StatisticsView):
    """Time to metastasis per site."""

    options_class = shapes.SiteOptions
    document_class = shapes.IntervalsSerializer
    csv_name = "intervals"

    def count(self, selection, *, group_by: str, **context) -> dict:
        table = stats.intervals(selection=selection, group_by=group_by)
        return shapes.intervals_document(table, group_by=group_by, **context)


# ---------------------------------------------------------------- the CSV twins

SiteCountsCsvView = _csv_twin(
    SiteCountsView,
    operation_id="v1_stats_sites_csv",
    json_path="/api/v1/stats/",
    summary="Cases and metastases per metastatic site",
    options=shapes.SiteOptions,
    csv_example=SITE_COUNTS_CSV_EXAMPLE,
)
DimensionCountsCsvView = _csv_twin(
    DimensionCountsView,
    operation_id="v1_stats_counts_csv",
    json_path="/api/v1/stats/counts/",
    summary="Cases per value of one dimension",
    options=shapes.CountOptions,
    csv_example=DIMENSION_COUNTS_CSV_EXAMPLE,
)
CrosstabCsvView = _csv_twin(
    CrosstabView,
    operation_id="v1_stats_crosstab_csv",
    json_path="/api/v1/stats/crosstab/",
    summary="Cross-table of cases by two dimensions",
    options=shapes.CrosstabOptions,
    csv_example=CROSSTAB_CSV_EXAMPLE,
)
IntervalsCsvView = _csv_twin(
    IntervalsView,
    operation_id="v1_stats_intervals_csv",
    json_path="/api/v1/stats/intervals/",
    summary="Months from primary diagnosis to metastasis",
    options=shapes.SiteOptions,
    csv_example=INTERVALS_CSV_EXAMPLE,
)
