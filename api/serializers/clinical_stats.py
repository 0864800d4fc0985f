"""Clinical analytics: survival after metastasis, site shares, a site profile.

Their options and response documents, built on the shared document of
`api.serializers.stats` (what was counted, for which cases, what was hidden).
"""

import dataclasses

from rest_framework import serializers

from api.serializers.stats import (
    DIMENSION_HELP,
    DIMENSIONS,
    AgeBandsField,
    ColumnSerializer,
    CountRowSerializer,
    CrosstabRowSerializer,
    Document,
    IntervalRowSerializer,
    count_field,
    crosstab_document,
    document,
)
from registry.stats import SITE_LEVELS, CountTable


class SurvivalOptions(serializers.Serializer):
    by = serializers.ChoiceField(
        choices=DIMENSIONS,
        required=False,
        help_text="Estimate per value of this dimension as well as overall: " + DIMENSION_HELP,
    )
    bands = AgeBandsField()


class SurvivalPointSerializer(serializers.Serializer):
    months = serializers.IntegerField(help_text="Months after the metastasis")
    at_risk = count_field(
        help_text="Cases at risk when the step that ends here begins: for curators, at this "
        "point (protected like any count)"
    )
    survival = serializers.FloatField(help_text="Kaplan–Meier estimate of survival to here")
    lower = serializers.FloatField(allow_null=True, help_text="95 % band, lower")
    upper = serializers.FloatField(allow_null=True, help_text="95 % band, upper")
    deaths = count_field(
        help_text="Deaths in the step that ends here (since the previous point); for analysts "
        "steps are merged until each holds at least REGISTRY_MIN_CELL_COUNT"
    )
    censored = count_field(
        help_text="Cases last seen alive in the step that ends here; for analysts at least "
        "REGISTRY_MIN_CELL_COUNT, like the deaths"
    )


class SurvivalGroupSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="The value of `by`; 'all' for the overall estimate")
    label = serializers.CharField()
    cases = count_field(help_text="Cases in the estimate (at risk at month 0)")
    events = count_field(
        help_text="Deaths counted within the time points; null when below the threshold"
    )
    excluded = count_field(
        help_text="Selected cases without what the estimate needs (months to the metastasis, "
        "follow-up, known vital status, follow-up not before the metastasis); null when below "
        "the threshold"
    )
    median = serializers.FloatField(
        allow_null=True, help_text="Median survival in months; null when not reached on the curve"
    )
    median_lower = serializers.FloatField(allow_null=True, help_text="95 % interval of the median")
    median_upper = serializers.FloatField(allow_null=True, help_text="null: not reached")
    curve = serializers.ChoiceField(
        choices=["exact", "coarsened", "withheld"],
        help_text="exact: a step at every time point (curators); coarsened: time points merged "
        "into steps that each hold at least the threshold of deaths and of censorings; "
        "withheld: not even the first step does, so no curve is drawn",
    )
    points = SurvivalPointSerializer(many=True, help_text="The curve and its risk table")


class LogRankSerializer(serializers.Serializer):
    statistic = serializers.FloatField()
    degrees_of_freedom = serializers.IntegerField()
    p_value = serializers.FloatField()


class SurvivalSerializer(Document):
    by = serializers.ChoiceField(choices=DIMENSIONS, allow_null=True)
    unit = serializers.ChoiceField(choices=["months"])
    time_points = serializers.ListField(child=serializers.IntegerField())
    method = serializers.CharField(help_text="How the estimate is made and protected")
    overall = SurvivalGroupSerializer(allow_null=True, help_text="null: too few cases to show")
    groups = SurvivalGroupSerializer(many=True, help_text="Groups with too few cases are left out")
    logrank = LogRankSerializer(
        allow_null=True,
        help_text="Log-rank test between the groups shown; null with fewer than two",
    )


class ShareRowSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="Site code, category or group")
    label = serializers.CharField()
    cases = count_field(help_text="Cases with a metastasis here")
    share = serializers.FloatField(allow_null=True, help_text="cases / cases selected")
    lower = serializers.FloatField(allow_null=True, help_text="Clopper–Pearson 95 % interval")
    upper = serializers.FloatField(allow_null=True)
    suppressed = serializers.BooleanField()
    share_withheld = serializers.BooleanField(
        help_text="The cases are shown, but the share is not: fewer than the threshold of the "
        "cases selected lack this site, and a share would tell how many (analysts only)"
    )


class ShareTotalSerializer(serializers.Serializer):
    label = serializers.CharField()
    cases = count_field(help_text="Cases selected: the denominator of every share")
    share = serializers.FloatField(allow_null=True, help_text="Always null")
    lower = serializers.FloatField(allow_null=True, help_text="Always null")
    upper = serializers.FloatField(allow_null=True, help_text="Always null")
    suppressed = serializers.BooleanField()


class SiteSharesSerializer(Document):
    group_by = serializers.ChoiceField(choices=list(SITE_LEVELS))
    confidence_level = serializers.FloatField()
    interval = serializers.ChoiceField(choices=["clopper_pearson"])
    caution = serializers.CharField(help_text="What the share is not")
    rows = ShareRowSerializer(many=True)
    total = ShareTotalSerializer()


SURVIVAL_METHOD = (
    "Kaplan–Meier (lifelines) from the metastasis to death or last follow-up, on times "
    "coarsened to the time points (a death counts at the next point, a censoring at the point "
    "before; beyond {last} months every case is censored at {last}). {steps} The 95 % band is "
    "Greenwood's on the log(-log) scale; the median is the first point where the curve is at "
    "or below 0.5. The risk table counts the cases still at risk{hidden}."
)
EXACT_STEPS = "Deaths and censorings are counted at each point."
COARSENED_STEPS = (
    "Consecutive points are merged into steps until each step holds at least {threshold} "
    "deaths and {threshold} censorings; the curve is drawn from those steps' published counts "
    "(its points are their ends; half of a step's censorings count as leaving at its start, "
    "as in an actuarial life table) and stops after the last full step; a group whose first step "
    "never fills has no curve (curve: withheld)."
)


def _survival_group(group) -> dict:
    return {
        "key": group.key,
        "label": group.label,
        "cases": group.cases,
        "events": group.events,
        "excluded": group.excluded,
        "median": group.median,
        "median_lower": group.median_lower,
        "median_upper": group.median_upper,
        "curve": group.curve,
        "points": [dataclasses.asdict(point) for point in group.points],
    }


def survival_document(table, *, time_points, **context) -> dict:
    access = context["access"]
    method = SURVIVAL_METHOD.format(
        last=time_points[-1],
        steps=EXACT_STEPS if access.exact else COARSENED_STEPS.format(threshold=access.threshold),
        hidden=""
        if access.exact
        else "; the curve stops before the first point where fewer than "
        f"{access.threshold} remain at risk, and a group with fewer cases is left out",
    )
    return {
        **document(
            counting="cases",
            description=(
                "Survival after metastasis: months from the metastasis (the first with the "
                "group's value for a metastasis dimension, the case's first otherwise) to death "
                "or last follow-up. A case with several values counts in each group."
            ),
            hidden=0 if access.exact else None,
            **context,
        ),
        "by": table.dimension.value if table.dimension else None,
        "unit": "months",
        "time_points": list(time_points),
        "method": method,
        "overall": _survival_group(table.overall) if table.overall else None,
        "groups": [_survival_group(group) for group in table.groups],
        "logrank": dataclasses.asdict(table.logrank) if table.logrank else None,
    }


def site_shares_document(table, *, caution: str, confidence_level: float, **context) -> dict:
    access = context["access"]

    def share(row) -> dict:
        return {
            "key": row.key,
            "label": row.label,
            "cases": row.cases,
            "share": row.share,
            "lower": row.lower,
            "upper": row.upper,
            "suppressed": row.suppressed,
            "share_withheld": row.share_withheld,
        }

    total = share(table.total)
    total.pop("key")
    total.pop("share_withheld")
    return {
        **document(
            counting="cases",
            description=(
                "Each site's share of the cases selected: cases with a metastasis there over "
                "all cases selected, with an exact (Clopper–Pearson) interval. Shares add up to "
                "more than 1, since a case can have metastases at several sites."
                + ("" if access.exact else " Computed from the published counts.")
            ),
            hidden=0 if access.exact else None,
            **context,
        ),
        "group_by": table.group_by,
        "confidence_level": confidence_level,
        "interval": "clopper_pearson",
        "caution": caution,
        "rows": [share(row) for row in table.rows],
        "total": total,
    }


class ProportionSerializer(serializers.Serializer):
    cases = count_field(help_text="Cases with a metastasis here first taken for something else")
    of = count_field(help_text="Cases with a metastasis here whose first diagnosis is known")
    share = serializers.FloatField(allow_null=True)
    lower = serializers.FloatField(allow_null=True, help_text="Clopper–Pearson 95 % interval")
    upper = serializers.FloatField(allow_null=True)


class ResponsesSerializer(serializers.Serializer):
    columns = ColumnSerializer(many=True, help_text="Responses")
    rows = CrosstabRowSerializer(many=True, help_text="Treatment modalities")


class SiteProfileSerializer(Document):
    level = serializers.ChoiceField(choices=["site", "site_category", "site_group"])
    site = serializers.CharField(help_text="The site's code, category or group")
    label = serializers.CharField()
    cases = count_field(help_text="Cases selected: the primary's cases with a metastasis here")
    subtypes = CountRowSerializer(many=True)
    presentations = CountRowSerializer(many=True, help_text="Of the metastases at this site")
    misdiagnoses = CountRowSerializer(
        many=True, help_text="What the metastases at this site were first taken for"
    )
    misdiagnosed = ProportionSerializer(help_text="How often they were first taken for another")
    found_first = ProportionSerializer(
        help_text="How often the metastasis was found first and led to the primary, of the "
        "cases where what was found first is known"
    )
    confirmations = CountRowSerializer(many=True, help_text="How they were confirmed")
    months_to_metastasis = IntervalRowSerializer(
        allow_null=True, help_text="Months from primary diagnosis to the metastases here"
    )
    treatments = CountRowSerializer(many=True, help_text="Cases per treatment modality")
    responses = ResponsesSerializer(help_text="Cases per modality and response")
    survival = SurvivalGroupSerializer(
        allow_null=True, help_text="After the first metastasis here; null: too few cases"
    )


def _rows(table: CountTable) -> list[dict]:
    return [
        {"key": row.key, "label": row.label, "cases": row.cases, "suppressed": row.suppressed}
        for row in table.rows
    ]


def site_profile_document(profile, **context) -> dict:
    access = context["access"]
    responses = crosstab_document(profile.responses, **context)
    return {
        **document(
            counting="cases",
            description=(
                "What the registry knows about this primary and this metastatic site: the cases "
                "selected (a primary and a metastasis at the site), their subtypes, how the "
                "metastases at the site presented, what they were first taken for and how "
                "often, how they were confirmed, months from the primary, treatments and "
                "responses, survival after the first metastasis at the site, and how often "
                "the metastasis was found before the primary (found_first)."
            ),
            hidden=0 if access.exact else None,
            **context,
        ),
        "level": profile.level.value,
        "site": profile.site,
        "label": profile.label,
        "cases": profile.cases,
        "subtypes": _rows(profile.subtypes),
        "presentations": _rows(profile.presentations),
        "misdiagnoses": _rows(profile.misdiagnoses),
        "misdiagnosed": dataclasses.asdict(profile.misdiagnosed),
        "found_first": dataclasses.asdict(profile.found_first),
        "confirmations": _rows(profile.confirmations),
        "months_to_metastasis": dataclasses.asdict(profile.months_to_metastasis)
        if profile.months_to_metastasis
        else None,
        "treatments": _rows(profile.treatments),
        "responses": {"columns": responses["columns"], "rows": responses["rows"]},
        "survival": _survival_group(profile.survival) if profile.survival else None,
    }
