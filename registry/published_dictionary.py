"""The data dictionary: what analysts can count, by what, with which values, under which protection.

Generated, never written by hand: from the dimensions the statistics count by
(`registry.stats.dimensions`), the filters that validate requests
(`registry.case_filters`, `registry.access.ANALYST_FILTERS`), the published age
bands and periods (`registry.access`), the loaded vocabularies, the protection
settings (`registry.disclosure`) and the releases. The API serves it at
`/api/v1/dictionary/` (JSON and a page); tests/test_dictionary.py checks that it
agrees with validation, the OpenAPI schema and the dashboard's menus.

Where the filters are declared is read in `analyst_filters` alone, so a change
of that declaration is one function to re-point.
"""

import datetime

from django.conf import settings

from registry import access, disclosure
from registry.case_filters import CaseFilterSet, CodeListFilter
from registry.data_dictionary import FILTERS, AnalystUse
from registry.models import Release, ReviewStatus
from registry.models.case import FIRST_YEAR
from registry.stats.dimensions import (
    MONTH_BANDS,
    NO_TREATMENT,
    SITE_LEVELS,
    UNKNOWN,
    AgeBands,
    Dimension,
    closed_values,
    month_band_key,
)
from registry.vocabularies import current_vocabularies

# The vocabulary and level each coded dimension takes its values from.
_FROM_VOCABULARY = {
    Dimension.SITE: ("topography", "code"),
    Dimension.SITE_CATEGORY: ("topography", "category"),
    Dimension.SITE_GROUP: ("topography", "site_group"),
    Dimension.PRIMARY: ("topography", "code"),
    Dimension.PRIMARY_CATEGORY: ("topography", "category"),
    Dimension.PRIMARY_GROUP: ("topography", "site_group"),
    Dimension.MORPHOLOGY: ("morphology", "code"),
    Dimension.SUBTYPE: ("subtypes", "code"),
}
_UNIT = {None: "case", "metastases": "metastasis", "treatments": "treatment"}


def analyst_filters() -> dict[str, dict]:
    """Each filter an analyst may use: {name: {"help", "use", "values"}} ("values" None: open).

    Read off the one declaration of each filter (`registry.data_dictionary.FILTERS`),
    with the help text the filter form shows.
    """
    found = {}
    for declared in FILTERS:
        if declared.analysts is AnalystUse.CURATORS:
            continue
        form_filter = CaseFilterSet.base_filters[declared.name]
        values = (
            getattr(form_filter.field, "choices", None)
            if isinstance(form_filter, CodeListFilter)
            else None
        )
        if declared.analysts is AnalystUse.VERIFIED_ONLY:  # analysts count verified cases
            values = [ReviewStatus.VERIFIED.value]
        found[declared.name] = {
            "help": form_filter.field.help_text or "",
            "use": declared.analysts.value,
            "values": values,
        }
    return found


def curator_filters() -> list[str]:
    """The filters of the case list that analysts may not use."""
    return sorted(set(CaseFilterSet.base_filters) - access.ANALYST_FILTERS)


def _values(dimension: Dimension) -> dict:
    """How a dimension's values are listed: inline, or in a vocabulary at a level."""
    if dimension in _FROM_VOCABULARY:
        vocabulary, level = _FROM_VOCABULARY[dimension]
        return {"values_from": f"vocabularies.{vocabulary}", "level": level}
    if dimension is Dimension.AGE_BAND:
        return {"values_from": "age_band_schemes"}
    if dimension is Dimension.YEAR:
        return {"values_from": "years"}
    if dimension is Dimension.PERIOD:
        return {"values_from": "periods"}
    return {"values": [{"key": k, "label": v} for k, v in closed_values(dimension).items()]}


def dimensions() -> list[dict]:
    filters = analyst_filters()
    described = []
    for dimension in Dimension:
        values = _values(dimension)
        # Sites, primaries and morphologies are required; other values may be missing.
        required = dimension in _FROM_VOCABULARY and dimension is not Dimension.SUBTYPE
        extra = [] if required else [UNKNOWN]
        extra += [NO_TREATMENT] if dimension.relation == "treatments" else []
        listed = {value["key"] for value in values.get("values", ())}
        described.append(
            {
                "name": dimension.value,
                "per": _UNIT[dimension.relation],
                "several_per_case": dimension.several_per_case,
                "grouping": True,
                "analyst_filter": dimension.value in filters,
                "site_level": next((k for k, d in SITE_LEVELS.items() if d is dimension), None),
                **values,
                "also": [key for key in extra if key not in listed],
            }
        )
    return described


def age_band_schemes() -> list[dict]:
    return [
        {
            "name": name,
            "default": name == access.DEFAULT_AGE_BAND_SCHEME,
            "lower_bounds": list(bounds),
            "bands": [
                {"key": key, "youngest": low, "oldest": high, "label": AgeBands(bounds).label(key)}
                for key, low, high in access.age_band_keys(bounds)
            ],
        }
        for name, bounds in access.AGE_BAND_SCHEMES.items()
    ]


def vocabularies() -> dict[str, list[dict]]:
    """Codes with their labels and hierarchy: code -> category -> site group."""
    vocab = current_vocabularies()
    return {
        "topography": [
            {
                "code": row.code,
                "label": row.title,
                "category": row.category,
                "category_label": row.category_title,
                "site_group": row.site_group,
            }
            for row in vocab.topography.values()
        ],
        "morphology": [{"code": row.code, "label": row.title} for row in vocab.morphology.values()],
        "subtypes": [
            {"code": row.code, "label": row.title, "family": row.family}
            for row in vocab.subtypes.values()
        ],
    }


def protection() -> dict:
    values = [value for value, _ in disclosure.PERTURBATION]
    return {
        "analysts": "cell_key",
        "curators": "exact",
        "threshold": settings.REGISTRY_MIN_CELL_COUNT,
        "noise_min": min(values),
        "noise_max": max(values),
        "noise": [{"value": value, "share": share} for value, share in disclosure.PERTURBATION],
        # A count is hidden below the threshold plus a keyed jitter of 0 to this, so that
        # "hidden" never proves "below the threshold" (docs/statistics.md).
        "hiding_jitter_max": disclosure.HIDING_JITTER,
    }


def releases() -> list[dict]:
    return [
        {
            "name": release.name,
            "created_at": release.created_at.isoformat(),
            "retired_at": release.retired_at.isoformat() if release.retired_at else None,
            "successor": release.successor.name if release.successor else None,
            "checksum": release.checksum,
        }
        for release in Release.objects.select_related("successor")
    ]


def data_dictionary() -> dict:
    """The whole dictionary, as /api/v1/dictionary/ serves it."""
    this_year = datetime.date.today().year
    return {
        "dimensions": dimensions(),
        "filters": {
            "analysts": [{"name": n, **described} for n, described in analyst_filters().items()],
            "curators_only": curator_filters(),
            "values_per_filter": "one or more, comma-separated or repeated",
        },
        "site_levels": {level: dimension.value for level, dimension in SITE_LEVELS.items()},
        "age_band_schemes": age_band_schemes(),
        "years": {"first": FIRST_YEAR, "last": this_year},
        "periods": access.published_periods(),
        "months_to_metastasis": [
            {"key": month_band_key(first, last), "first": first, "last": last}
            for first, last in MONTH_BANDS
        ],
        "vocabularies": vocabularies(),
        "protection": protection(),
        "releases": releases(),
    }
