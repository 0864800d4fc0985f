"""Which review status a case may move to: one table for the API, the admin and the loaders.

A case arrives `submitted`; a curator may mark it `in_review` while looking at
it, or decide at once: `verified` or `rejected` (with a reason). A decision is
changed only by re-opening it: `verified` or `rejected` go back to `in_review`
first, so flipping a decision takes two recorded steps. No review sends a case
back to `submitted`: only new content from its submitter does
(`registry.services.case_store.apply_change`). A review to the status the case
already has (and, for a rejection, the same reason) changes nothing and is not
a transition at all.
"""

from registry.models import ReviewStatus

REVIEW_TRANSITIONS: dict[str, frozenset[str]] = {
    ReviewStatus.SUBMITTED: frozenset(
        {ReviewStatus.IN_REVIEW, ReviewStatus.VERIFIED, ReviewStatus.REJECTED}
    ),
    ReviewStatus.IN_REVIEW: frozenset({ReviewStatus.VERIFIED, ReviewStatus.REJECTED}),
    ReviewStatus.VERIFIED: frozenset({ReviewStatus.IN_REVIEW}),
    # A rejection's reason may be corrected: rejected → rejected with a new reason.
    ReviewStatus.REJECTED: frozenset({ReviewStatus.IN_REVIEW, ReviewStatus.REJECTED}),
}


class ReviewTransitionRefused(Exception):
    """The case's current status does not lead to the one asked for (HTTP 409)."""

    def __init__(self, current: str, requested: str):
        allowed = sorted(REVIEW_TRANSITIONS[current] - {current})
        super().__init__(
            f"A {ReviewStatus(current).label.lower()} case cannot be moved to "
            f"{ReviewStatus(requested).label.lower()}; from {current} it can go to "
            f"{', '.join(allowed)}."
            + (" Re-open it (in_review) first." if ReviewStatus.IN_REVIEW in allowed else "")
        )
        self.current = current
        self.requested = requested


def check_review_transition(current: str, requested: str) -> None:
    """ReviewTransitionRefused unless a case may move from `current` to `requested`."""
    if requested not in REVIEW_TRANSITIONS[current]:
        raise ReviewTransitionRefused(current, requested)
