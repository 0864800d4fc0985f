"""A statistical-disclosure attacker, as code, for tests/test_privacy_attacks.py.

It knows what the documentation publishes (docs/statistics.md): the perturbation
table, the threshold and how far above it a count may still be hidden. It asks
only what an analyst may ask, and it reasons as a Bayesian would: a posterior
over a hidden count from every estimate it can form, and certificates from what
the rules make impossible. Its claims are scored against a curator's exact
counts by the tests; the assertion is about claims that are both confident
(posterior >= CONFIDENT) and right.
"""

from collections import Counter
from dataclasses import dataclass, field
from functools import cache

from registry.disclosure import PERTURBATION

CONFIDENT = 0.99
THRESHOLD = 11
# How far above the threshold a count may be hidden (0: hidden exactly below it).
# The attacker reads it from the published rules (registry.disclosure.HIDING_JITTER).
try:
    from registry.disclosure import HIDING_JITTER
except ImportError:  # before the jitter existed, a count was hidden exactly below the threshold
    HIDING_JITTER = 0

HIDDEN_MAX = THRESHOLD - 1 + HIDING_JITTER  # the largest count that may be hidden


@cache
def noise_pmf(terms: int) -> dict[int, float]:
    """The distribution of a sum of `terms` independent perturbations (signs do not matter:
    the table is symmetric)."""
    pmf = Counter({0: 1.0})
    for _ in range(terms):
        step = Counter()
        for total, p in pmf.items():
            for value, share in PERTURBATION:
                step[total + value] += p * share
        pmf = step
    return dict(pmf)


@dataclass
class Target:
    """A hidden count the attacker wants, what it has gathered, and what it concludes."""

    name: str
    truth: int
    # (estimate, number of perturbations in it): estimate = count + sum of perturbations.
    estimates: list[tuple[int, int]] = field(default_factory=list)
    lower: int = 0  # certified bounds
    upper: int = HIDDEN_MAX
    refused: int = 0  # requests answered 400

    def posterior(self) -> dict[int, float]:
        support = range(max(0, self.lower), self.upper + 1)
        weights = {}
        for count in support:
            weight = 1.0
            for estimate, terms in self.estimates:
                weight *= noise_pmf(terms).get(estimate - count, 0.0)
            weights[count] = weight
        total = sum(weights.values())
        if total == 0:  # the attacker's model is contradicted: no claim
            return {}
        return {count: weight / total for count, weight in weights.items()}

    def value_claim(self) -> int | None:
        """The count claimed with posterior >= CONFIDENT, if any."""
        posterior = self.posterior()
        best = max(posterior, key=posterior.get, default=None)
        if best is not None and posterior[best] >= CONFIDENT:
            return best
        return None

    def emptiness_claim(self) -> bool | None:
        """True: "empty", False: "not empty", claimed with posterior >= CONFIDENT; else None."""
        posterior = self.posterior()
        if not posterior:
            return None
        empty = posterior.get(0, 0.0)
        if empty >= CONFIDENT:
            return True
        if 1 - empty >= CONFIDENT:
            return False
        return None


@dataclass
class Score:
    """Claims made over many targets, and how many were right."""

    targets: int = 0
    claims: int = 0
    right: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, name: str, claimed, truth) -> None:
        self.targets += 1
        if claimed is None:
            return
        self.claims += 1
        if claimed == truth:
            self.right += 1
            if len(self.examples) < 5:
                self.examples.append(f"{name}: claimed {claimed}, truth {truth}")

    def __str__(self) -> str:
        return (
            f"{self.right} confident and right claims of {self.claims} claims over "
            f"{self.targets} targets; e.g. {self.examples}"
        )


def hidden_bound(published: int | None) -> tuple[int, int]:
    """What one protected count certifies about the true count: (lowest, highest)."""
    if published is None:
        return 0, HIDDEN_MAX
    lowest = max(THRESHOLD, published - 2)
    return lowest, published + 2
