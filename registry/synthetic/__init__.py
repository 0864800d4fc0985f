"""Synthetic cases with realistic frequencies, for load tests and benchmarks.

`frequencies` holds the weight tables (what is common, with the reason beside
each); `generator` draws cases from them, deterministically per seed and index.
Nothing here touches the database: `registry.services.synthetic` writes the cases
with COPY.
"""

from registry.synthetic.frequencies import (
    FIRST_DIAGNOSIS_YEAR,
    INSTITUTION_COUNT,
    INSTITUTION_COUNTRIES,
    INSTITUTION_PREFIX,
    LOCAL_ID_PREFIX,
    REFERENCE_YEAR,
)
from registry.synthetic.generator import (
    SyntheticCase,
    case_rng,
    generate_case,
    generate_cases,
    institution_code,
    local_id,
    vocabulary_codes,
)

__all__ = [
    "FIRST_DIAGNOSIS_YEAR",
    "INSTITUTION_COUNT",
    "INSTITUTION_COUNTRIES",
    "INSTITUTION_PREFIX",
    "LOCAL_ID_PREFIX",
    "REFERENCE_YEAR",
    "SyntheticCase",
    "case_rng",
    "generate_case",
    "generate_cases",
    "institution_code",
    "local_id",
    "vocabulary_codes",
]
