"""Receptor status as linkage and the similar-case finder compare it: positive or negative.

The definitions are the subtypes' (`registry.subtypes`): hormone receptors
positive from 1 % staining, HER2 by IHC 3+ or ISH amplification. Kept apart
from `records` so that the API does not load pandas to score a similar case.
"""

from registry.subtypes import HR_POSITIVE_PERCENT, Receptors, her2_positive


def receptor_status(percent: int | None) -> str | None:
    if percent is None:
        return None
    return "positive" if percent >= HR_POSITIVE_PERCENT else "negative"


def her2_status(ihc: str, ish: str) -> str | None:
    positive = her2_positive(Receptors(None, None, ihc or "", ish or "", None))
    return None if positive is None else ("positive" if positive else "negative")
