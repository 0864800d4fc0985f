"""Aggregates for analysts: counts per site and per case attribute, cross-tables, intervals.

Where each part lives:
- `dimensions`: what a count is broken down by, and its values' keys, order and labels;
- `tables`: the tables returned, and how each is protected for the user who asked;
- `counting`: per-site counts, counts per value, cross-tables, and the one
  decision between the counted metastases and the base tables joined;
- `time_to_metastasis`: months from primary diagnosis to metastasis, per site;
- `survival`, `shares`, `profile`: survival after metastasis, each site's share
  of the cases with an exact interval, and a primary -> site profile, all from
  the counts above;
- `vendors`: what PostgreSQL and SQLite do differently, and nothing else does.

The names below are the package's public face (the API, the bench and the tests).
"""

from registry.stats.counting import crosstab, dimension_counts, selected_cases, site_counts
from registry.stats.dimensions import (
    DEFAULT_AGE_BANDS,
    MONTH_BANDS,
    NO_TREATMENT,
    SITE_LEVELS,
    UNKNOWN,
    AgeBands,
    Dimension,
    label_maker,
    month_band_key,
)
from registry.stats.tables import (
    Cell,
    CountTable,
    CrossTable,
    IntervalRow,
    IntervalTable,
    Line,
    Row,
    withheld,
)
from registry.stats.time_to_metastasis import INTERVAL_BINS, histogram_quantile, intervals

__all__ = [
    "DEFAULT_AGE_BANDS",
    "INTERVAL_BINS",
    "MONTH_BANDS",
    "NO_TREATMENT",
    "SITE_LEVELS",
    "UNKNOWN",
    "AgeBands",
    "Cell",
    "CountTable",
    "CrossTable",
    "Dimension",
    "IntervalRow",
    "IntervalTable",
    "Line",
    "Row",
    "crosstab",
    "dimension_counts",
    "histogram_quantile",
    "intervals",
    "label_maker",
    "month_band_key",
    "selected_cases",
    "site_counts",
    "withheld",
]
