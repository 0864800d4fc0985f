"""Statistical disclosure control: the cell-key method, and the small-cell rule with it.

Why: suppression table by table cannot stop an analyst who may ask any number of
overlapping questions (a site group's total minus its codes, `year_max=2019`
against `year_max=2020`, one route against another). The cell-key method of the
Australian Bureau of Statistics' TableBuilder, also used by the UK ONS for the
2021 Census flexible tables, makes differencing useless:

- every case carries a permanent random *record key* (`Case.record_key`,
  0 to RECORD_KEYS - 1), drawn once when it is stored and never shown;
- a cell's *cell key* is the sum of the record keys of exactly the cases in it,
  modulo RECORD_KEYS; it is uniform whatever the cases, and the same set of
  cases has the same cell key by every route (endpoint, level, filter spelling);
- the published count is the true count plus a perturbation read from a fixed
  table at (count, cell key): small, zero on average, and the same every time,
  so that asking again, or by another route, never averages it away;
- with the small-cell rule: a true count below the threshold
  (REGISTRY_MIN_CELL_COUNT) is never published, and zero is hidden exactly like
  1 to threshold - 1, so an empty cell cannot be told from a small one.

The difference of two overlapping published counts is then the true difference
plus the difference of two independent perturbations: never exact.

Figures that are not counts come from perturbed counts (`perturb_any`, also for
the cells that are not published themselves): shares from perturbed numerators
and denominators, quartiles from a histogram of perturbed counts.
"""

import bisect
from dataclasses import dataclass
from itertools import accumulate

# Record keys are drawn from 0..RECORD_KEYS-1; cell keys are sums modulo the same.
# A power of two, so that SQL can draw a key with a bit mask (registry.models.case).
RECORD_KEYS = 4096

# The perturbation and the share of cell keys that receive it: zero on average,
# variance 0.8, never more than 2 either way (ABS publishes a variance near 1).
PERTURBATION = ((-2, 0.05), (-1, 0.20), (0, 0.50), (1, 0.20), (2, 0.05))
# Cell keys below _BOUNDS[i] (and not below _BOUNDS[i - 1]) get _VALUES[i].
_BOUNDS = [round(share * RECORD_KEYS) for share in accumulate(s for _, s in PERTURBATION)]
_VALUES = [value for value, _ in PERTURBATION]

# Different figures of the same cases (their count, their lesions, ...) read the
# table at different places, so that one perturbation does not give away another.
CASES, METASTASES, SYNCHRONOUS, HISTOGRAM = 0, 1, 2, 3
# The life table of survival after metastasis (`registry.stats.survival`).
DEATHS, CENSORED = 4, 5


@dataclass(frozen=True)
class Tally:
    """A count of cases with the sum of their record keys (its cell key before the modulo).

    Any number that differs from that sum by a multiple of RECORD_KEYS serves as
    well: it gives the same cell key (`registry.stats.counting.distinct_cases`).
    """

    n: int = 0
    key_sum: int = 0

    def __add__(self, other: "Tally") -> "Tally":
        return Tally(self.n + other.n, self.key_sum + other.key_sum)

    @property
    def cell_key(self) -> int:
        return self.key_sum % RECORD_KEYS


def perturbation(count: int, cell_key: int, figure: int = CASES) -> int:
    """The perturbation table at (count, cell key): a fixed value in -2..2.

    The position mixes the count and the figure in, so that cells of different
    sizes or figures with equal cell keys are not perturbed alike; for a given
    count it is uniform over the table, as the cell key is.
    """
    position = (cell_key + 1_597 * count + 2_861 * figure) % RECORD_KEYS
    return _VALUES[bisect.bisect_right(_BOUNDS, position)]


def perturb_any(count: int, cell_key: int, figure: int = CASES) -> int:
    """A perturbed count for computing other figures from; never below zero, zero stays zero."""
    if count <= 0:
        return 0
    return max(0, count + perturbation(count, cell_key, figure))


def publish(count: int, cell_key: int, threshold: int, figure: int = CASES) -> int | None:
    """The number an analyst sees for a true count, or None when it is hidden.

    Hidden below the threshold (zero included). Above it, perturbed but never
    below the threshold, so a published count never looks like a hidden one.
    """
    if count < threshold:
        return None
    return max(threshold, count + perturbation(count, cell_key, figure))


def publish_tally(tally: Tally, threshold: int) -> int | None:
    return publish(tally.n, tally.cell_key, threshold)
