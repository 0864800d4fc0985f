"""Scoring the registry for pairs of cases that may be one patient, for curators' review.

The whole registry is read as one table (`records`), scored by the model
(`model`) and the pairs above the review threshold are stored as pending
`LinkCandidate`s. A pair already stored (pending or decided) is never stored
again, so a run after new cases arrive adds only their pairs, and a decision
stands. `since` limits the stored pairs to those with a case newer than it
(the incremental run of `manage.py link_cases --since`).
"""

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from django.db import transaction

from registry.linkage.model import scored_pairs
from registry.linkage.records import linkage_frame
from registry.models import Case, LinkCandidate

# Pairs at or above this match probability go to the curators' queue: recall 1.0 and
# precision about 0.5 on the synthetic registry (docs/atlas.md), since a miss counts twice.
REVIEW_THRESHOLD = 0.8
# Which facts a reviewer is shown the agreement of, in the model's order.
COMPARED = (
    "sex",
    "age",
    "year",
    "primary",
    "morphology",
    "laterality",
    "grade",
    "stage",
    "er",
    "pr",
    "her2",
    "ki67",
    "sites",
    "first_months",
    "institution",
)


@dataclass(frozen=True)
class LinkageRun:
    cases: int
    pairs_scored_above_threshold: int
    candidates_added: int


def agreement_levels(pair) -> dict[str, dict]:
    """Per fact, the level the pair reached (gamma: higher agrees more; -1 missing) and
    its match weight, as the curator's queue shows them."""
    return {
        fact: {"level": int(pair[f"gamma_{fact}"]), "weight": round(float(pair[f"mw_{fact}"]), 2)}
        for fact in COMPARED
        if f"gamma_{fact}" in pair
    }


def pairs_for_review(pairs: pd.DataFrame) -> list[tuple[int, int, float, float, dict]]:
    """(lower id, higher id, probability, weight, agreements) for each scored pair."""
    found = []
    for pair in pairs.to_dict("records"):
        low, high = sorted((int(pair["unique_id_l"]), int(pair["unique_id_r"])))
        found.append(
            (
                low,
                high,
                float(pair["match_probability"]),
                float(pair["match_weight"]),
                agreement_levels(pair),
            )
        )
    return found


def find_link_candidates(
    *,
    threshold: float = REVIEW_THRESHOLD,
    since: int | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> LinkageRun:
    """Score every case against the others and queue new pairs above `threshold`."""
    frame = linkage_frame(Case.objects.all())
    if on_progress:
        on_progress(1)
    if len(frame) < 2:
        return LinkageRun(len(frame), 0, 0)
    found = pairs_for_review(scored_pairs(frame, threshold=threshold))
    if on_progress:
        on_progress(2)
    if since is not None:
        found = [pair for pair in found if pair[1] > since]
    with transaction.atomic():
        before = LinkCandidate.objects.count()
        LinkCandidate.objects.bulk_create(
            [
                LinkCandidate(
                    case_a_id=low,
                    case_b_id=high,
                    match_probability=probability,
                    match_weight=weight,
                    agreements=agreements,
                )
                for low, high, probability, weight, agreements in found
            ],
            ignore_conflicts=True,
            batch_size=5_000,
        )
        added = LinkCandidate.objects.count() - before
    if on_progress:
        on_progress(3)
    return LinkageRun(len(frame), len(found), added)
