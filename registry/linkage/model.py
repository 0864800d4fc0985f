"""The Fellegi-Sunter model of "same patient", written for Splink on in-process DuckDB.

Each compared fact has levels from exact agreement down to disagreement. A
level's m is how often two records of one patient reach it, its u how often two
records of different patients do, and a pair's match weight is the sum of
log2(m/u) over its facts (Fellegi and Sunter, 1969). The levels encode the
disagreements real duplicates show: a year apart, a site coded at another
level (C44.4 vs C44.9), receptors reported by one source only (a missing value
is neutral: Splink's null level).

Where each parameter comes from:
- u, from the registry itself: Splink samples random pairs, which are almost
  all different patients (`estimate_u_using_random_sampling`);
- the share of pairs that match (lambda), from pairs that agree on every core
  fact, scaled up for the matches such a strict rule misses;
- m, from what a duplicate record is known to disagree on (`M_PROBABILITIES`),
  not from expectation maximisation: on a registry whose cases come in a few
  common patterns, unsupervised EM learns "same pattern" instead of "same
  patient" (measured: recall 0 at 10k cases; docs/atlas.md). Once curators
  have decided pairs, m can be learnt from them
  (`linker.training.estimate_m_from_pairwise_labels`).

The same settings run on Spark (`splink.SparkAPI`) for a registry past one machine.
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
# Pairs agreeing on all of these are taken as matches to estimate how many pairs are;
# such a rule finds about this share of the true matches (a year off escapes it).
DETERMINISTIC_COLUMNS = ("sex", "age", "year", "primary_site", "morphology", "first_months")
DETERMINISTIC_RECALL = 0.6
# Random pairs sampled to estimate u: the rare levels (same age, year and histology) need
# millions for a stable estimate (2M gave precision 0.44-0.76 at 0.95 across runs at 10k).
U_SAMPLE_PAIRS = 20_000_000

# m per level, best level first, "anything else" last: how often two records of one
# patient agree so. Records of one patient rarely differ in sex, age or histology; a
# year of diagnosis, an interval or a site's coding level differ more often.
M_PROBABILITIES = {
    "sex": (0.99, 0.01),
    "age": (0.90, 0.06, 0.03, 0.01),  # exact, within 1, within 3, else
    "year": (0.75, 0.20, 0.03, 0.02),  # exact, within 1, within 2, else
    "primary": (0.85, 0.14, 0.01),  # code, category, else
    "morphology": (0.90, 0.08, 0.02),  # code, family (first three digits), else
    "tumour": (0.90, 0.10),  # laterality, grade, stage group: the same, else
    "receptor": (0.95, 0.05),
    "ki67": (0.60, 0.30, 0.10),  # exact, within 10 points, else
    "sites": (0.80, 0.15, 0.03, 0.02),  # a code, a category, a site group in common, else
    "first_months": (0.70, 0.15, 0.10, 0.05),  # exact, within 3, within 12, else
    "institution": (0.20, 0.30, 0.50),  # same, the report's authors are there, else
}


def _with_m(levels, fact: str):
    """The levels of a comparison, each non-null level given its m."""
    return [
        level if m is None else level.configure(m_probability=m)
        for level, m in zip(levels, (None, *M_PROBABILITIES[fact]), strict=True)
    ]


def _compare(fact: str, levels, column: str | None = None) -> cl.CustomComparison:
    return cl.CustomComparison(_with_m(levels, fact), output_column_name=column or fact)


def _exact(column: str, fact: str) -> cl.CustomComparison:
    return _compare(
        fact, [cll.NullLevel(column), cll.ExactMatchLevel(column), cll.ElseLevel()], column
    )


def _difference(column: str, thresholds: tuple[int, ...]) -> cl.CustomComparison:
    """Exact, then within each threshold, then anything else; a missing value is neutral.

    The fact's m are `M_PROBABILITIES[column]`."""
    levels = [cll.NullLevel(column), cll.ExactMatchLevel(column)]
    levels += [
        cll.CustomLevel(f'abs("{column}_l" - "{column}_r") <= {threshold}', f"within {threshold}")
        for threshold in thresholds
    ]
    return _compare(column, [*levels, cll.ElseLevel()])


def _hierarchy(fact: str, *columns: str) -> cl.CustomComparison:
    """Agreement at the finest level first (code, then category or family)."""
    levels = [cll.NullLevel(columns[0])]
    levels += [cll.ExactMatchLevel(column) for column in columns]
    return _compare(fact, [*levels, cll.ElseLevel()])


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
    return _compare("sites", [*levels, cll.ElseLevel()])


def _institution() -> cl.CustomComparison:
    """Same institution; or a case report whose authors' institution is the hospital."""
    mentions = (
        '(len("affiliations_l") > 0 AND contains("affiliations_l", "institution_name_r")) OR '
        '(len("affiliations_r") > 0 AND contains("affiliations_r", "institution_name_l"))'
    )
    levels = [
        cll.NullLevel("institution"),
        cll.ExactMatchLevel("institution"),
        cll.CustomLevel(mentions, "authors' institution is the hospital"),
        cll.ElseLevel(),
    ]
    return _compare("institution", levels)


def prior_match_probability(frame: pd.DataFrame) -> float:
    """How likely two random cases are one patient (lambda): the pairs agreeing on every
    `DETERMINISTIC_COLUMNS` value, scaled up for the matches such a rule misses, over all
    pairs; at least one pair in the registry, so that a registry without any still scores."""
    pairs = len(frame) * (len(frame) - 1) / 2
    if pairs < 1:
        return 0.5
    columns = list(DETERMINISTIC_COLUMNS)
    groups = frame.dropna(subset=columns).groupby(columns).size()
    agreeing = float((groups * (groups - 1) / 2).sum())
    return min(max(agreeing / DETERMINISTIC_RECALL / pairs, 1 / pairs), 0.5)


def settings(prior: float = 1e-4) -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        probability_two_random_records_match=prior,
        comparisons=[
            _exact("sex", "sex"),
            _difference("age", (1, 3)),
            _difference("year", (1, 2)),
            _hierarchy("primary", "primary_site", "primary_category"),
            _hierarchy("morphology", "morphology", "morphology_family"),
            _exact("laterality", "tumour"),
            _exact("grade", "tumour"),
            _exact("stage", "tumour"),
            _exact("er", "receptor"),
            _exact("pr", "receptor"),
            _exact("her2", "receptor"),
            _difference("ki67", (10,)),
            _sites(),
            _difference("first_months", (3, 12)),
            _institution(),
        ],
        blocking_rules_to_generate_predictions=list(BLOCKING_RULES),
        retain_intermediate_calculation_columns=True,
    )


def scored_pairs(frame: pd.DataFrame, *, threshold: float, seed: int = 1) -> pd.DataFrame:
    """Every blocked pair at or above `threshold` match probability, with its levels."""
    logging.getLogger("splink").setLevel(logging.ERROR)
    linker = Linker(
        DuckDBAPI().register(frame),
        settings(prior_match_probability(frame)),
        log_level=logging.ERROR,
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=U_SAMPLE_PAIRS, seed=seed)
    return linker.inference.predict(threshold_match_probability=threshold).as_pandas_dataframe()
