"""OpenAPI examples of the statistics: real responses, not hand-written ones.

Captured from a development server holding `manage.py synth --cases 2000 --seed 1`
and the founding case, called with an analyst's token (so small counts are
suppressed); the calls are given in each example's summary.
"""

from drf_spectacular.utils import OpenApiExample


def _csv(*lines: str) -> str:
    return "".join(f"{line}\r\n" for line in lines)


def _example(name: str, call: str, value, media_type: str = "application/json"):
    return OpenApiExample(
        name, summary=call, value=value, response_only=True, media_type=media_type
    )


SITE_COUNTS_EXAMPLES = [
    _example(
        "Breast primaries per site group",
        "GET /api/v1/stats/?group_by=site_group&primary_category=C50",
        {
            "counting": "cases_and_metastases",
            "description": "cases: cases with at least one metastasis at the "
            "site (two lesions there count once); metastases: "
            "lesions at the site. A case with metastases at "
            "several sites counts at each, so the rows add up to "
            "more than the total, which counts each selected "
            "case once.",
            "filters": {"primary_category": ["C50"]},
            "counted_statuses": ["verified"],
            "suppression": {
                "threshold": 11,
                "applied": True,
                "suppressed": 4,
                "rule": "Counts from 1 to 10 are hidden (null, "
                "suppressed: true), with enough other "
                "numbers that none can be recovered from "
                "totals or other cells; curators see exact "
                "counts.",
            },
            "group_by": "site_group",
            "rows": [
                {
                    "key": "Adrenal",
                    "label": "Adrenal",
                    "cases": None,
                    "metastases": None,
                    "suppressed": True,
                },
                {
                    "key": "Bone",
                    "label": "Bone",
                    "cases": 251,
                    "metastases": 299,
                    "suppressed": False,
                },
                {
                    "key": "Brain and CNS",
                    "label": "Brain and CNS",
                    "cases": 83,
                    "metastases": 84,
                    "suppressed": False,
                },
                {
                    "key": "Eye and orbit",
                    "label": "Eye and orbit",
                    "cases": None,
                    "metastases": None,
                    "suppressed": True,
                },
                {
                    "key": "Gynaecological",
                    "label": "Gynaecological",
                    "cases": None,
                    "metastases": None,
                    "suppressed": True,
                },
                {
                    "key": "Liver",
                    "label": "Liver",
                    "cases": 125,
                    "metastases": 125,
                    "suppressed": False,
                },
                {
                    "key": "Lung",
                    "label": "Lung",
                    "cases": 141,
                    "metastases": 143,
                    "suppressed": False,
                },
                {
                    "key": "Lymph nodes",
                    "label": "Lymph nodes",
                    "cases": 45,
                    "metastases": 46,
                    "suppressed": False,
                },
                {
                    "key": "Other thoracic",
                    "label": "Other thoracic",
                    "cases": 14,
                    "metastases": 14,
                    "suppressed": False,
                },
                {
                    "key": "Peritoneum and retroperitoneum",
                    "label": "Peritoneum and retroperitoneum",
                    "cases": None,
                    "metastases": None,
                    "suppressed": True,
                },
                {
                    "key": "Skin",
                    "label": "Skin",
                    "cases": 21,
                    "metastases": 21,
                    "suppressed": False,
                },
            ],
            "total": {"label": "All sites", "cases": 473, "metastases": 746, "suppressed": False},
        },
    )
]

SITE_COUNTS_CSV_EXAMPLE = _example(
    "Breast primaries per site group, as CSV",
    "GET /api/v1/stats/?group_by=site_group&primary_category=C50&format=csv",
    _csv(
        "key,label,cases,metastases,suppressed",
        "Adrenal,Adrenal,,,true",
        "Bone,Bone,251,299,false",
        "Brain and CNS,Brain and CNS,83,84,false",
        "Eye and orbit,Eye and orbit,,,true",
        "Gynaecological,Gynaecological,,,true",
        "Liver,Liver,125,125,false",
        "Lung,Lung,141,143,false",
        "Lymph nodes,Lymph nodes,45,46,false",
        "Other thoracic,Other thoracic,14,14,false",
        "Peritoneum and retroperitoneum,Peritoneum and retroperitoneum,,,true",
        "Skin,Skin,21,21,false",
        ",All sites,473,746,false",
    ),
    media_type="text/csv",
)

DIMENSION_COUNTS_EXAMPLES = [
    _example(
        "Breast primaries per age band",
        "GET /api/v1/stats/counts/?by=age_band&primary_category=C50",
        {
            "counting": "cases",
            "description": "Cases per value. 'unknown' counts cases where the "
            "value is not recorded.",
            "filters": {"primary_category": ["C50"]},
            "counted_statuses": ["verified"],
            "suppression": {
                "threshold": 11,
                "applied": True,
                "suppressed": 0,
                "rule": "Counts from 1 to 10 are hidden (null, "
                "suppressed: true), with enough other "
                "numbers that none can be recovered from "
                "totals or other cells; curators see exact "
                "counts.",
            },
            "dimension": "age_band",
            "bands": [0, 40, 50, 60, 70, 80],
            "rows": [
                {"key": "0-39", "label": "0 to 39 years", "cases": 44, "suppressed": False},
                {"key": "40-49", "label": "40 to 49 years", "cases": 89, "suppressed": False},
                {"key": "50-59", "label": "50 to 59 years", "cases": 128, "suppressed": False},
                {"key": "60-69", "label": "60 to 69 years", "cases": 131, "suppressed": False},
                {"key": "70-79", "label": "70 to 79 years", "cases": 60, "suppressed": False},
                {"key": "80+", "label": "80 years or over", "cases": 21, "suppressed": False},
            ],
            "total": {"label": "All cases", "cases": 473, "suppressed": False},
        },
    )
]

CROSSTAB_EXAMPLES = [
    _example(
        "Breast primaries by subtype and age band",
        "GET /api/v1/stats/crosstab/?rows=subtype&cols=age_band&bands=0,50,70&primary_category=C50",
        {
            "counting": "cases",
            "description": "Cases per pair of values: a case counts in every "
            "cell whose row value and column value it has (a "
            "site value from any of its metastases). Row and "
            "column totals count cases with that value, each "
            "once; the total counts the cases selected.",
            "filters": {"primary_category": ["C50"]},
            "counted_statuses": ["verified"],
            "suppression": {
                "threshold": 11,
                "applied": True,
                "suppressed": 8,
                "rule": "Counts from 1 to 10 are hidden (null, "
                "suppressed: true), with enough other "
                "numbers that none can be recovered from "
                "totals or other cells; curators see exact "
                "counts.",
            },
            "rows_dimension": "subtype",
            "cols_dimension": "age_band",
            "bands": [0, 50, 70],
            "columns": [
                {"key": "0-49", "label": "0 to 49 years"},
                {"key": "50-69", "label": "50 to 69 years"},
                {"key": "70+", "label": "70 years or over"},
            ],
            "rows": [
                {
                    "key": "her2_enriched",
                    "label": "HER2-positive (non-luminal)",
                    "cells": [
                        {"cases": None, "suppressed": True, "key": "0-49"},
                        {"cases": None, "suppressed": True, "key": "50-69"},
                        {"cases": None, "suppressed": True, "key": "70+"},
                    ],
                    "total": {"cases": 20, "suppressed": False},
                },
                {
                    "key": "luminal_a_like",
                    "label": "Luminal A-like",
                    "cells": [
                        {"cases": 43, "suppressed": False, "key": "0-49"},
                        {"cases": 85, "suppressed": False, "key": "50-69"},
                        {"cases": 20, "suppressed": False, "key": "70+"},
                    ],
                    "total": {"cases": 148, "suppressed": False},
                },
                {
                    "key": "luminal_b_like_her2_negative",
                    "label": "Luminal B-like (HER2-negative)",
                    "cells": [
                        {"cases": 45, "suppressed": False, "key": "0-49"},
                        {"cases": 95, "suppressed": False, "key": "50-69"},
                        {"cases": 25, "suppressed": False, "key": "70+"},
                    ],
                    "total": {"cases": 165, "suppressed": False},
                },
                {
                    "key": "luminal_b_like_her2_positive",
                    "label": "Luminal B-like (HER2-positive)",
                    "cells": [
                        {"cases": None, "suppressed": True, "key": "0-49"},
                        {"cases": 29, "suppressed": False, "key": "50-69"},
                        {"cases": None, "suppressed": True, "key": "70+"},
                    ],
                    "total": {"cases": 58, "suppressed": False},
                },
                {
                    "key": "triple_negative",
                    "label": "Triple-negative",
                    "cells": [
                        {"cases": 18, "suppressed": False, "key": "0-49"},
                        {"cases": 32, "suppressed": False, "key": "50-69"},
                        {"cases": 17, "suppressed": False, "key": "70+"},
                    ],
                    "total": {"cases": 67, "suppressed": False},
                },
                {
                    "key": "unknown",
                    "label": "Unknown",
                    "cells": [
                        {"cases": None, "suppressed": True, "key": "0-49"},
                        {"cases": None, "suppressed": True, "key": "50-69"},
                        {"cases": None, "suppressed": True, "key": "70+"},
                    ],
                    "total": {"cases": 15, "suppressed": False},
                },
            ],
            "column_totals": [
                {"cases": 133, "suppressed": False, "key": "0-49"},
                {"cases": 259, "suppressed": False, "key": "50-69"},
                {"cases": 81, "suppressed": False, "key": "70+"},
            ],
            "total": {"cases": 473, "suppressed": False},
        },
    )
]

CROSSTAB_CSV_EXAMPLE = _example(
    "Breast primaries by subtype and age band, as CSV",
    "GET /api/v1/stats/crosstab/?rows=subtype&cols=age_band&bands=0,50,70"
    "&primary_category=C50&format=csv",
    _csv(
        "row_key,row_label,col_key,col_label,cases,suppressed",
        "her2_enriched,HER2-positive (non-luminal),0-49,0 to 49 years,,true",
        "her2_enriched,HER2-positive (non-luminal),50-69,50 to 69 years,,true",
        "her2_enriched,HER2-positive (non-luminal),70+,70 years or over,,true",
        "luminal_a_like,Luminal A-like,0-49,0 to 49 years,43,false",
        "luminal_a_like,Luminal A-like,50-69,50 to 69 years,85,false",
        "luminal_a_like,Luminal A-like,70+,70 years or over,20,false",
        "luminal_b_like_her2_negative,Luminal B-like (HER2-negative),0-49,0 to 49 years,45,false",
        "luminal_b_like_her2_negative,Luminal B-like (HER2-negative),50-69,50 to 69 years,95,false",
        "luminal_b_like_her2_negative,Luminal B-like (HER2-negative),70+,70 years or over,25,false",
        "luminal_b_like_her2_positive,Luminal B-like (HER2-positive),0-49,0 to 49 years,,true",
        "luminal_b_like_her2_positive,Luminal B-like (HER2-positive),50-69,50 to 69 years,29,false",
        "luminal_b_like_her2_positive,Luminal B-like (HER2-positive),70+,70 years or over,,true",
        "triple_negative,Triple-negative,0-49,0 to 49 years,18,false",
        "triple_negative,Triple-negative,50-69,50 to 69 years,32,false",
        "triple_negative,Triple-negative,70+,70 years or over,17,false",
        "unknown,Unknown,0-49,0 to 49 years,,true",
        "unknown,Unknown,50-69,50 to 69 years,,true",
        "unknown,Unknown,70+,70 years or over,,true",
        "her2_enriched,HER2-positive (non-luminal),,Total,20,false",
        "luminal_a_like,Luminal A-like,,Total,148,false",
        "luminal_b_like_her2_negative,Luminal B-like (HER2-negative),,Total,165,false",
        "luminal_b_like_her2_positive,Luminal B-like (HER2-positive),,Total,58,false",
        "triple_negative,Triple-negative,,Total,67,false",
        "unknown,Unknown,,Total,15,false",
        ",Total,0-49,0 to 49 years,133,false",
        ",Total,50-69,50 to 69 years,259,false",
        ",Total,70+,70 years or over,81,false",
        ",Total,,Total,473,false",
    ),
    media_type="text/csv",
)

DIMENSION_COUNTS_CSV_EXAMPLE = _example(
    "Breast primaries per age band, as CSV",
    "GET /api/v1/stats/counts/?by=age_band&primary_category=C50&format=csv",
    _csv(
        "key,label,cases,suppressed",
        "0-39,0 to 39 years,44,false",
        "40-49,40 to 49 years,89,false",
        "50-59,50 to 59 years,128,false",
        "60-69,60 to 69 years,131,false",
        "70-79,70 to 79 years,60,false",
        "80+,80 years or over,21,false",
        ",All cases,473,false",
    ),
    media_type="text/csv",
)

INTERVALS_CSV_EXAMPLE = _example(
    "Months to metastasis per site group, as CSV",
    "GET /api/v1/stats/intervals/?group_by=site_group&primary_category=C50&format=csv",
    _csv(
        "key,label,cases,metastases,median,q1,q3,min,max,share_synchronous,suppressed",
        "Adrenal,Adrenal,,,,,,,,,true",
        "Bone,Bone,251,299,24.0,5.5,43.0,0,209,0.2207,false",
        "Brain and CNS,Brain and CNS,83,84,13.5,3.25,37.5,0,222,0.2381,false",
        "Eye and orbit,Eye and orbit,,,,,,,,,true",
        "Gynaecological,Gynaecological,,,,,,,,,true",
        "Liver,Liver,125,125,23.0,1.0,41.0,0,222,0.248,false",
        "Lung,Lung,141,143,23.0,5.0,42.5,0,251,0.2308,false",
        "Lymph nodes,Lymph nodes,45,46,24.0,11.5,51.5,0,183,0.1087,false",
        "Other thoracic,Other thoracic,14,14,13.0,1.5,40.0,0,56,0.2857,false",
        "Peritoneum and retroperitoneum,Peritoneum and retroperitoneum,,,,,,,,,true",
        "Skin,Skin,20,20,35.0,17.75,49.75,0,108,0.1,false",
        ",All sites,472,745,23.0,5.0,42.0,0,251,0.2201,false",
    ),
    media_type="text/csv",
)

INTERVALS_EXAMPLES = [
    _example(
        "Months to metastasis per site group, breast primaries",
        "GET /api/v1/stats/intervals/?group_by=site_group&primary_category=C50",
        {
            "counting": "metastases",
            "description": "Months from primary diagnosis to metastasis, over "
            "metastases with a known interval (n = metastases). "
            "Quartiles interpolate (PostgreSQL percentile_cont). "
            "A row is hidden when fewer cases than the threshold "
            "contribute to it.",
            "filters": {"primary_category": ["C50"]},
            "counted_statuses": ["verified"],
            "suppression": {
                "threshold": 11,
                "applied": True,
                "suppressed": 4,
                "rule": "Counts from 1 to 10 are hidden (null, "
                "suppressed: true), with enough other "
                "numbers that none can be recovered from "
                "totals or other cells; curators see exact "
                "counts.",
            },
            "group_by": "site_group",
            "unit": "months",
            "rows": [
                {
                    "key": "Adrenal",
                    "label": "Adrenal",
                    "cases": None,
                    "metastases": None,
                    "median": None,
                    "q1": None,
                    "q3": None,
                    "min": None,
                    "max": None,
                    "share_synchronous": None,
                    "suppressed": True,
                },
                {
                    "key": "Bone",
                    "label": "Bone",
                    "cases": 251,
                    "metastases": 299,
                    "median": 24.0,
                    "q1": 5.5,
                    "q3": 43.0,
                    "min": 0,
                    "max": 209,
                    "share_synchronous": 0.2207,
                    "suppressed": False,
                },
                {
                    "key": "Brain and CNS",
                    "label": "Brain and CNS",
                    "cases": 83,
                    "metastases": 84,
                    "median": 13.5,
                    "q1": 3.25,
                    "q3": 37.5,
                    "min": 0,
                    "max": 222,
                    "share_synchronous": 0.2381,
                    "suppressed": False,
                },
                {
                    "key": "Eye and orbit",
                    "label": "Eye and orbit",
                    "cases": None,
                    "metastases": None,
                    "median": None,
                    "q1": None,
                    "q3": None,
                    "min": None,
                    "max": None,
                    "share_synchronous": None,
                    "suppressed": True,
                },
                {
                    "key": "Gynaecological",
                    "label": "Gynaecological",
                    "cases": None,
                    "metastases": None,
                    "median": None,
                    "q1": None,
                    "q3": None,
                    "min": None,
                    "max": None,
                    "share_synchronous": None,
                    "suppressed": True,
                },
                {
                    "key": "Liver",
                    "label": "Liver",
                    "cases": 125,
                    "metastases": 125,
                    "median": 23.0,
                    "q1": 1.0,
                    "q3": 41.0,
                    "min": 0,
                    "max": 222,
                    "share_synchronous": 0.248,
                    "suppressed": False,
                },
                {
                    "key": "Lung",
                    "label": "Lung",
                    "cases": 141,
                    "metastases": 143,
                    "median": 23.0,
                    "q1": 5.0,
                    "q3": 42.5,
                    "min": 0,
                    "max": 251,
                    "share_synchronous": 0.2308,
                    "suppressed": False,
                },
                {
                    "key": "Lymph nodes",
                    "label": "Lymph nodes",
                    "cases": 45,
                    "metastases": 46,
                    "median": 24.0,
                    "q1": 11.5,
                    "q3": 51.5,
                    "min": 0,
                    "max": 183,
                    "share_synchronous": 0.1087,
                    "suppressed": False,
                },
                {
                    "key": "Other thoracic",
                    "label": "Other thoracic",
                    "cases": 14,
                    "metastases": 14,
                    "median": 13.0,
                    "q1": 1.5,
                    "q3": 40.0,
                    "min": 0,
                    "max": 56,
                    "share_synchronous": 0.2857,
                    "suppressed": False,
                },
                {
                    "key": "Peritoneum and retroperitoneum",
                    "label": "Peritoneum and retroperitoneum",
                    "cases": None,
                    "metastases": None,
                    "median": None,
                    "q1": None,
                    "q3": None,
                    "min": None,
                    "max": None,
                    "share_synchronous": None,
                    "suppressed": True,
                },
                {
                    "key": "Skin",
                    "label": "Skin",
                    "cases": 20,
                    "metastases": 20,
                    "median": 35.0,
                    "q1": 17.75,
                    "q3": 49.75,
                    "min": 0,
                    "max": 108,
                    "share_synchronous": 0.1,
                    "suppressed": False,
                },
            ],
            "total": {
                "label": "All sites",
                "cases": 472,
                "metastases": 745,
                "median": 23.0,
                "q1": 5.0,
                "q3": 42.0,
                "min": 0,
                "max": 251,
                "share_synchronous": 0.2201,
                "suppressed": False,
            },
        },
    )
]

SURVIVAL_CSV_EXAMPLE = OpenApiExample(
    "Two points of one curve",
    value=(
        "group_key,group_label,months,at_risk,survival,lower,upper\n"
        ",All cases,0,412,1.0,1.0,1.0\n"
        ",All cases,12,287,0.81,0.77,0.85\n"
    ),
)
SITE_SHARES_CSV_EXAMPLE = OpenApiExample(
    "Breast primaries",
    value=(
        "key,label,cases,share,lower,upper,suppressed\n"
        "Bone,Bone,251,0.53,0.49,0.58,false\n"
        ",All cases,473,,,,false\n"
    ),
)
