"""`/api/v1/stats/`: counts for analysts and curators, protected for analysts.

Each endpoint takes the filters of the case list, asks the access policy
(`registry.access`) what this user may ask and see, counts through
`registry.stats`, protects the numbers for everyone but curators and answers
JSON. Each but the profile also has a `.csv` twin (`stats/sites.csv`,
`stats/counts.csv`, ...): one operation per media type, so a client generated
from the schema parses each answer as what it is. The JSON paths still answer
CSV for `Accept: text/csv` or `?format=csv`, as before the twins existed.
`ENDPOINTS` at the end declares them all; `api/urls.py` routes from it. The
response examples are files in `api/examples/`.
"""

from dataclasses import dataclass

from django.conf import settings
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from api import provenance
from api.examples import openapi_examples
from api.filters import CaseFilterParams, case_filters_from
from api.permissions import CanReadStatistics
from api.renderers import CSVRenderer
from api.serializers import clinical_stats as clinical_shapes
from api.serializers import stats as shapes
from api.statistics_limits import DailyTableBudgetExceeded, PersonStatisticsThrottle
from api.throttling import TokenRateThrottle
from registry import access, stats
from registry.releases import snapshot
from registry.selectors import CaseFilters, CountedSelection, given_filters
from registry.services.statistics_log import statistics_query_record
from registry.stats import profile, shares, survival

# `?format=` is left out of the schema: each operation answers one media type
# (the JSON paths still honour format=csv for clients written before the twins).
NO_FORMAT = OpenApiParameter("format", exclude=True)


def _answer(content, description: str, *, examples=(), media_type="application/json") -> dict:
    """The one success response of an operation, with its examples from api/examples/."""
    return {
        (200, media_type): OpenApiResponse(
            content, description=description, examples=openapi_examples(*examples) or None
        ),
    }


TABLE = "The table; a suppressed number is null"
ESTIMATE = "The estimate; a suppressed number is null"


class StatisticsView(APIView):
    """Shared steps: parse filters and options, ask the access policy, count, protect, render."""

    permission_classes = [CanReadStatistics]
    renderer_classes = [JSONRenderer, CSVRenderer]
    throttle_classes = [TokenRateThrottle, PersonStatisticsThrottle]
    problem_statuses = {
        "410": "The release asked for (release=) was retired: `successor` names the release "
        "to count instead (code release_retired)"
    }
    options_class = shapes.SiteOptions
    document_class = shapes.SiteCountsSerializer
    csv_name = "statistics"
    # The operation in the schema (see ENDPOINTS): what it does, and what its answer is.
    summary = ""
    description = ""
    answer = TABLE

    def get(self, request):
        extra = frozenset({*self.options_class().fields, "format", "release"})
        filters = case_filters_from(request, extra_params=extra)
        options = self.options_class(data=request.query_params)
        # A blank option is a mistake, not a wish for the default (the schema says so too).
        blank = [name for name in options.fields if request.query_params.get(name, None) == ""]
        if blank:
            raise ValidationError(
                {name: ["Give a value, or leave the parameter out."] for name in blank}
            )
        options.is_valid(raise_exception=True)
        bands = options.validated_data.get("bands")
        chosen = shapes.ReleaseOption(data=request.query_params)
        chosen.is_valid(raise_exception=True)
        release = access.counted_release(request.user, chosen.validated_data.get("release"))
        selection = CountedSelection(request.user, filters)
        policy = access.statistics_access(request.user)
        asker = policy
        if release is not None:
            policy = access.counting_release(policy)
        with snapshot.reading(release):
            # Inside the release: the differencing check counts what the answer counts.
            access.check_statistics_query(
                request.user,
                parameters=given_filters(filters),
                age_bands=bands.lower_bounds if bands is not None else None,
            )
            if not asker.exact:
                # A question is recorded once it may be asked; the release is part of it:
                # one table asked of two releases differs.
                asked = {**options.validated_data, "release": getattr(release, "name", None)}
                self.log_question(request, filters, asked)
            body = self.count(selection, filters=filters, access=policy, **options.validated_data)
        body |= provenance.stamp(release=release, document=body, access=policy)
        return Response(self.document_class(body).data)

    def log_question(self, request, filters: CaseFilters, options: dict) -> None:
        """Record an analyst's question (never the answer); 429 past the daily table budget."""
        parameters = {
            **given_filters(filters),
            **{name: getattr(value, "lower_bounds", value) for name, value in options.items()},
        }
        record = statistics_query_record(
            user=request.user,
            endpoint=self.csv_name,
            parameters=parameters,
            budget=settings.REGISTRY_ANALYST_DAILY_TABLES,
        )
        if record.refused:
            raise DailyTableBudgetExceeded(record)

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
            formats = " or ".join(renderer.format for renderer in self.renderer_classes)
            raise ValidationError({"format": [f"Use {formats}."]}) from None

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        renderer = getattr(request, "accepted_renderer", None)
        if response.status_code == 200 and isinstance(renderer, CSVRenderer):
            response["Content-Disposition"] = f'attachment; filename="{self.csv_name}.csv"'
        return response


class SiteCountsView(StatisticsView):
    """Cases and metastases per metastatic site."""

    summary = "Cases and metastases per metastatic site"
    description = (
        "Counts per ICD-O-3 site code, category or site group of the metastases of the cases "
        "selected by the filters. A case with two lesions at one site is one case and two "
        "metastases there. Curators see exact counts; for analysts every count is perturbed "
        "by the cell-key method and a site with fewer cases than REGISTRY_MIN_CELL_COUNT is "
        "left out. CSV (stats/sites.csv): key,label,cases,metastases,suppressed; the last line "
        "is the total."
    )
    options_class = shapes.SiteOptions
    document_class = shapes.SiteCountsSerializer
    csv_name = "site-counts"

    def count(self, selection, *, group_by: str, **context) -> dict:
        table = stats.site_counts(selection=selection, group_by=group_by)
        return shapes.site_counts_document(
            table.protected(context["access"]), group_by=group_by, **context
        )


class DimensionCountsView(StatisticsView):
    """Cases per value of one dimension."""

    summary = "Cases per primary site, morphology, subtype, sex, age band or year"
    description = (
        "Cases per value of one dimension (`by`); `bands` sets the age bands. Values not "
        "recorded are counted as `unknown`. Protection as for site counts. "
        "CSV (stats/counts.csv): key,label,cases,suppressed; the last line is the total."
    )
    options_class = shapes.CountOptions
    document_class = shapes.DimensionCountsSerializer
    csv_name = "counts"

    def count(self, selection, *, by: str, bands=stats.DEFAULT_AGE_BANDS, **context) -> dict:
        table = stats.dimension_counts(
            selection=selection, dimension=stats.Dimension(by), bands=bands
        )
        return shapes.dimension_counts_document(table.protected(context["access"]), **context)


class CrosstabView(StatisticsView):
    """Cases by two dimensions."""

    summary = "Cross-table of cases by two dimensions, with row and column totals"
    description = (
        "Cases per pair of values of `rows` and `cols` (e.g. rows=site_group&cols=subtype). "
        "Row and column totals equal the one-way counts of the same filters (for analysts: the "
        "same protected numbers). For analysts, rows and columns below the threshold are left "
        "out and a cell below it is null with suppressed: true, whether it holds no case or "
        "a few. CSV (stats/crosstab.csv, long form): "
        "row_key,row_label,col_key,col_label,cases,suppressed; row totals have an empty "
        "col_key, column totals an empty row_key, the grand total both."
    )
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


class IntervalsView(StatisticsView):
    """Time to metastasis per site."""

    summary = "Months from primary diagnosis to metastasis, per metastatic site"
    description = (
        "Over metastases with a known interval: n, median, quartiles, min, max and the share "
        "synchronous (month 0), exact for curators. For analysts, n and the share come from "
        "perturbed counts, the quartiles from a histogram of perturbed counts whose bins are "
        "merged until each holds REGISTRY_MIN_CELL_COUNT cases, min and max are null, and a "
        "row with fewer contributing cases than REGISTRY_MIN_CELL_COUNT is left out. "
        "CSV (stats/intervals.csv): "
        "key,label,cases,metastases,median,q1,q3,min,max,share_synchronous,suppressed."
    )
    options_class = shapes.SiteOptions
    document_class = shapes.IntervalsSerializer
    csv_name = "intervals"

    def count(self, selection, *, group_by: str, **context) -> dict:
        table = stats.intervals(selection=selection, group_by=group_by)
        return shapes.intervals_document(table, group_by=group_by, **context)


# ---------------------------------------------------------------- clinical analytics


class SurvivalView(StatisticsView):
    """Kaplan–Meier survival after metastasis."""

    summary = "Survival after metastasis (Kaplan–Meier), overall and per value of a dimension"
    description = (
        "Months from the metastasis to death or last follow-up, estimated by Kaplan–Meier "
        "(lifelines) at fixed time points, with 95 % bands, the median and, between groups, "
        "a log-rank test. `by` gives one curve per value (e.g. by=site_group); cases without "
        "what the estimate needs are counted as excluded. For analysts the life table is "
        "merged into steps that each hold at least REGISTRY_MIN_CELL_COUNT deaths and "
        "censorings (curve: coarsened; withheld when none does), the risk table protected "
        "like any count, and a smaller group is left out. "
        "CSV (stats/survival.csv): group_key,group_label,months,at_risk,survival,"
        "lower,upper,deaths,censored, one line per point."
    )
    answer = ESTIMATE
    options_class = clinical_shapes.SurvivalOptions
    document_class = clinical_shapes.SurvivalSerializer
    csv_name = "survival"

    def count(self, selection, *, by: str | None = None, bands=stats.DEFAULT_AGE_BANDS, **context):
        dimension = stats.Dimension(by) if by else None
        table = survival.survival(selection=selection, by=dimension, bands=bands)
        return clinical_shapes.survival_document(table, time_points=survival.TIME_POINTS, **context)


class SiteSharesView(StatisticsView):
    """Each site's share of the cases selected."""

    summary = "How unusual a site is: each site's share of the cases, with an exact interval"
    description = (
        "For the cases selected (e.g. primary_category=C50), the share with a metastasis at "
        "each site, with a Clopper–Pearson 95 % interval. A share among the cases reported to "
        "the registry, not a population frequency. For analysts, computed from the published "
        "counts; a site below REGISTRY_MIN_CELL_COUNT is left out, and a share whose cases "
        "without the site would be fewer is withheld (share_withheld). "
        "CSV (stats/site-shares.csv): key,label,cases,share,lower,upper,suppressed; the last "
        "line is the total."
    )
    answer = ESTIMATE
    options_class = shapes.SiteOptions
    document_class = clinical_shapes.SiteSharesSerializer
    csv_name = "site-shares"

    def count(self, selection, *, group_by: str, **context) -> dict:
        table = shares.site_shares(selection=selection, group_by=group_by)
        return clinical_shapes.site_shares_document(
            table, caution=shares.CAUTION, confidence_level=shares.CONFIDENCE_LEVEL, **context
        )


class _NoOptions(serializers.Serializer):
    pass


class SiteProfileView(StatisticsView):
    """What the registry knows about one primary and one metastatic site."""

    summary = "A site profile: one primary and one metastatic site ('breast -> scalp')"
    description = (
        "Give the primary with the usual filters (primary, primary_category, ...) and exactly "
        "one site at any level: site=C44.4, site_category=C44 or site_group=Skin. The answer: "
        "cases, subtype mix, how the metastases at that site presented, what they were first "
        "taken for and how often (with a Clopper–Pearson interval), how they were confirmed, "
        "months from the primary, treatments and responses, and survival after the metastasis. "
        "Every part is protected for analysts like the statistics it comes from. CSV "
        "(stats/profile.csv, long form): part,key,label,measure,value,suppressed, one line "
        "per figure."
    )
    answer = "The profile; a suppressed number is null"
    options_class = _NoOptions
    document_class = clinical_shapes.SiteProfileSerializer
    csv_name = "site-profile"  # no CSV: the name of its table in the analysts' query log

    def count(self, selection, *, filters: CaseFilters, **context) -> dict:
        named = {
            name: getattr(filters, name)
            for name in profile.SITE_FILTERS
            if getattr(filters, name) is not None
        }
        if len(named) != 1 or len(next(iter(named.values()))) != 1:
            raise ValidationError(
                {
                    "site": [
                        "Name exactly one site: site=C44.4, site_category=C44 or site_group=Skin."
                    ]
                }
            )
        ((name, (site,)),) = named.items()
        found = profile.site_profile(
            selection=selection, level=profile.SITE_FILTERS[name], site=site
        )
        return clinical_shapes.site_profile_document(found, filters=filters, **context)


# ---------------------------------------------------------------- the endpoints and their CSV twins


def _csv_twin(json_view: type[StatisticsView], *, name: str, json_path: str, summary: str):
    """The same table as `json_view`, as text/csv only, under its own operation."""
    twin = type(
        json_view.__name__.replace("View", "CsvView"),
        (json_view,),
        {"renderer_classes": [CSVRenderer], "__doc__": f"{json_view.__doc__} As CSV."},
    )
    operation = extend_schema(
        operation_id=f"v1_stats_{name.replace('-', '_')}_csv",
        summary=f"{summary} (CSV)",
        description=(
            f"The table of GET {json_path} with the same parameters, as text/csv: a "
            "hidden number is an empty field and its line's `suppressed` is true. "
            "Errors are problem+json documents."
        ),
        parameters=[CaseFilterParams, shapes.ReleaseOption, *_options(json_view), NO_FORMAT],
        responses=_answer(
            OpenApiTypes.STR,
            "The table as CSV; a suppressed number is empty",
            examples=[f"stats_{name.replace('-', '_')}_csv"],
            media_type="text/csv",
        ),
    )
    return extend_schema_view(get=operation)(twin)


@dataclass(frozen=True)
class Endpoint:
    """`stats/<route>` (URL name stats-<name>) and its CSV twin `stats/<name>.csv`."""

    name: str
    route: str
    view: type[StatisticsView]
    csv_view: type[StatisticsView] | None  # None: JSON only


def _options(view: type[StatisticsView]) -> list:
    # An options serializer without fields is no parameter (drf-spectacular would fail on it).
    return [view.options_class] if view.options_class().fields else []


def _endpoint(name: str, route: str, view, csv_summary: str | None) -> Endpoint:
    options = _options(view)
    extend_schema(
        summary=view.summary,
        description=view.description,
        parameters=[CaseFilterParams, shapes.ReleaseOption, *options, NO_FORMAT],
        responses=_answer(
            view.document_class, view.answer, examples=[f"stats_{name.replace('-', '_')}"]
        ),
    )(view)
    twin = None
    if csv_summary is not None:
        json_path = f"/api/v1/stats/{route}"
        twin = _csv_twin(view, name=name, json_path=json_path, summary=csv_summary)
    return Endpoint(name=name, route=route, view=view, csv_view=twin)


ENDPOINTS = tuple(
    _endpoint(*row)
    for row in [
        # name, route under stats/, the JSON view, its CSV twin's summary (None: JSON only)
        ("sites", "", SiteCountsView, "Cases and metastases per metastatic site"),
        ("counts", "counts/", DimensionCountsView, "Cases per value of one dimension"),
        ("crosstab", "crosstab/", CrosstabView, "Cross-table of cases by two dimensions"),
        ("intervals", "intervals/", IntervalsView, "Months from primary diagnosis to metastasis"),
        ("survival", "survival/", SurvivalView, "Survival after metastasis"),
        ("site-shares", "site-shares/", SiteSharesView, "Each site's share of the cases"),
        ("profile", "profile/", SiteProfileView, "A site profile, one line per figure"),
    ]
)
