"""Statistical disclosure control: the cell-key method, keyed, and the small-cell rule with it.

Why: suppression table by table cannot stop an analyst who may ask any number of
overlapping questions (a site group's total minus its codes, a period against its
years, one route against another). The cell-key method of the Australian Bureau
of Statistics' TableBuilder, also used by the UK ONS for the 2021 Census flexible
tables, makes differencing useless:

- every case carries a permanent random *record key* (`Case.record_key`,
  0 to RECORD_KEYS - 1), drawn once when it is stored and never shown;
- a cell's *cell key* is the sum of the record keys of exactly the cases in it,
  modulo RECORD_KEYS; the same set of cases has the same cell key by every
  route (endpoint, level, filter spelling);
- the published count is the true count plus a perturbation that is a keyed
  pseudo-random function of (figure, count, cell key): HMAC-SHA256 under the
  server secret `REGISTRY_CELL_KEY_SECRET`, read through the published table of
  shares (PERTURBATION). The same every time, so that asking again, or by
  another route, never averages it away; and, unlike a position in a public
  table (`cell key + a * count`), it has no structure an attacker can shift:
  pub(T + P) - pub(P) is |T| plus noise that shares nothing across paddings P;
- with the small-cell rule: a true count below the threshold
  (REGISTRY_MIN_CELL_COUNT) is never published, and zero is hidden exactly like
  1 to threshold - 1, so an empty cell cannot be told from a small one; and a
  count of at least the threshold is still hidden below threshold + a keyed
  jitter (0 to HIDING_JITTER, from the same function), so that "hidden" never
  certifies "below the threshold" (the threshold oracle), while a published
  number still never comes from a count below it.

The difference of two overlapping published counts is then the true difference
plus the difference of two independent perturbations: never exact.

Figures that are not counts come from perturbed counts (`perturb_any`, also for
the cells that are not published themselves): shares from perturbed numerators
and denominators, quartiles from a histogram of perturbed counts.
"""

import bisect
import hashlib
import hmac
from dataclasses import dataclass
from itertools import accumulate

from django.conf import settings

# Record keys are drawn from 0..RECORD_KEYS-1; cell keys are sums modulo the same.
# A power of two, so that SQL can draw a key with a bit mask (registry.models.case).
RECORD_KEYS = 4096

# The perturbation and the share of cells that receive it: zero on average,
# variance 0.8, never more than 2 either way (ABS publishes a variance near 1).
PERTURBATION = ((-2, 0.05), (-1, 0.20), (0, 0.50), (1, 0.20), (2, 0.05))
# A count of at least the threshold is still hidden below threshold + 0..HIDING_JITTER.
HIDING_JITTER = 4
# The keyed function's output read as a position 0.._RESOLUTION-1: positions below
# _BOUNDS[i] (and not below _BOUNDS[i - 1]) get _VALUES[i].
_RESOLUTION = 1 << 32
_BOUNDS = [round(share * _RESOLUTION) for share in accumulate(s for _, s in PERTURBATION)]
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


def _draw(count: int, cell_key: int, figure: int) -> bytes:
    """The keyed pseudo-random bytes of one figure of one set of cases."""
    secret = settings.REGISTRY_CELL_KEY_SECRET.encode("utf-8")
    # Unit separators keep (1, 23) and (12, 3) apart.
    message = f"cell\x1f{figure}\x1f{count}\x1f{cell_key}".encode("ascii")
    return hmac.new(secret, message, hashlib.sha256).digest()


def perturbation(count: int, cell_key: int, figure: int = CASES) -> int:
    """The perturbation of a figure of a set of cases (its count and cell key): -2..2.

    Figures of the same cases (their count, their lesions, ...) get independent
    values, and so do sets of different sizes with equal cell keys.
    """
    return _perturbation_of(_draw(count, cell_key, figure))


def hiding_jitter(count: int, cell_key: int, figure: int = CASES) -> int:
    """How far above the threshold this set's count is still hidden: 0..HIDING_JITTER."""
    return _jitter_of(_draw(count, cell_key, figure))


def _perturbation_of(drawn: bytes) -> int:
    position = int.from_bytes(drawn[:4], "big")
    return _VALUES[bisect.bisect_right(_BOUNDS, position)]


def _jitter_of(drawn: bytes) -> int:
    return int.from_bytes(drawn[4:6], "big") % (HIDING_JITTER + 1)


def perturb_any(count: int, cell_key: int, figure: int = CASES) -> int:
    """A perturbed count for computing other figures from; never below zero, zero stays zero."""
    if count <= 0:
        return 0
    return max(0, count + perturbation(count, cell_key, figure))


def publish(count: int, cell_key: int, threshold: int, figure: int = CASES) -> int | None:
    """The number an analyst sees for a true count, or None when it is hidden.

    Hidden below the threshold (zero included), and below the threshold plus this
    set's jitter. Above, perturbed but never below the threshold, so a published
    count never looks like a hidden one.
    """
    if count < threshold:
        return None
    drawn = _draw(count, cell_key, figure)
    if count < threshold + _jitter_of(drawn):
        return None
    return max(threshold, count + _perturbation_of(drawn))


def publish_tally(tally: Tally, threshold: int) -> int | None:
    return publish(tally.n, tally.cell_key, threshold)
