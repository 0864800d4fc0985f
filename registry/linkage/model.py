"""The Fellegi-Sunter model of "same patient", written for Splink on in-process DuckDB.

Each compared fact has levels from exact agreement down to disagreement; Splink
estimates how often each level occurs among true matches (m) and among random
pairs (u), and a pair's match weight is the sum of log2(m/u) over its facts
(Fellegi and Sunter, 1969). The levels encode the disagreements real duplicates
show: a year apart, a site coded at another level (C44.4 vs C44), receptors
reported by one source only (missing is neutral: Splink's null level). The same
settings run on Spark (`splink.SparkAPI`) for a registry past one machine.
"""

import logging

import pandas as pd
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

# Pairs are scored only within these blocks (a pair need share one of them).
# Together they survive any one planted disagreement: a year off, a site at another
# level, missing receptors, a different institution.
BLOCKING_RULES = (
    block_on("sex", "age", "primary_category"),
    block_on("sex", "year", "primary_category"),
    block_on("morphology", "age", "year"),
)
# Expectation maximisation is trained on these (each leaves the other facts free).
TRAINING_BLOCKS = (
    block_on("primary_site", "age"),
    block_on("year", "morphology"),
)
# A prior guess of how many pairs in the registry are one patient, refined by training.
PRIOR_MATCH_PROBABILITY = 1e-4


def _difference(column: str, thresholds: tuple[int, ...], label: str) -> cl.CustomComparison:
    """Exact, then within each threshold, then anything else; a missing value is neutral."""
    levels = [cll.NullLevel(column), cll.ExactMatchLevel(column)]
    levels += [
        cll.CustomLevel(
            f'abs("{column}_l" - "{column}_r") <= {threshold}', f"{label} within {threshold}"
        )
        for threshold in thresholds
    ]
    return cl.CustomComparison([*levels, cll.ElseLevel()], output_column_name=column)


def _hierarchy(label: str, *columns: str) -> cl.CustomComparison:
    """Agreement at the finest level first (code, then category, then family)."""
    finest = columns[0]
    levels = [cll.NullLevel(finest)]
    levels += [cll.ExactMatchLevel(column) for column in columns]
    return cl.CustomComparison([*levels, cll.ElseLevel()], output_column_name=label)


def _sites() -> cl.CustomComparison:
    """Metastatic sites: a shared code, else a shared category (C44.4 ~ C44.9), else group."""
    missing = 'len("sites_l") = 0 OR len("sites_r") = 0'
    levels = [cll.CustomLevel(missing, "no site given").configure(is_null_level=True)]
    levels += [
        cll.CustomLevel(f'list_has_any("{column}_l", "{column}_r")', label)
        for column, label in (
            ("sites", "a site in common"),
            ("site_categories", "a site category in common"),
            ("site_groups", "a site group in common"),
        )
    ]
    return cl.CustomComparison([*levels, cll.ElseLevel()], output_column_name="sites")


def _institution() -> cl.CustomComparison:
    """Same institution; or a case report whose authors' institution is the hospital."""
    mentions = (
        '(len("affiliations_l") > 0 AND contains("affiliations_l", "institution_name_r")) OR '
        '(len("affiliations_r") > 0 AND contains("affiliations_r", "institution_name_l"))'
    )
    return cl.CustomComparison(
        [
            cll.ExactMatchLevel("institution"),
            cll.CustomLevel(mentions, "authors' institution is the hospital"),
            cll.ElseLevel(),
        ],
        output_column_name="institution",
    )


def settings() -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        probability_two_random_records_match=PRIOR_MATCH_PROBABILITY,
        comparisons=[
            cl.ExactMatch("sex"),
            _difference("age", (1, 3), "age"),
            _difference("year", (1, 2), "year"),
            _hierarchy("primary", "primary_site", "primary_category"),
            _hierarchy("morphology", "morphology", "morphology_family"),
            cl.ExactMatch("er"),
            cl.ExactMatch("pr"),
            cl.ExactMatch("her2"),
            _sites(),
            _difference("first_months", (3, 12), "months"),
            _institution(),
        ],
        blocking_rules_to_generate_predictions=list(BLOCKING_RULES),
        retain_intermediate_calculation_columns=True,
    )


def scored_pairs(frame: pd.DataFrame, *, threshold: float, seed: int = 1) -> pd.DataFrame:
    """Every blocked pair at or above `threshold` match probability, with its levels.

    The model is trained on the registry itself (u by random sampling, m by
    expectation maximisation), as no labelled pairs exist before curators review.
    """
    logging.getLogger("splink").setLevel(logging.WARNING)
    linker = Linker(DuckDBAPI().register(frame), settings(), log_level=logging.WARNING)
    linker.training.estimate_u_using_random_sampling(max_pairs=2_000_000, seed=seed)
    for rule in TRAINING_BLOCKS:
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, record_sample_proportion=1.0
        )
    return linker.inference.predict(threshold_match_probability=threshold).as_pandas_dataframe()
