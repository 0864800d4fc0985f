"""Breast surrogate subtypes from receptor status (St Gallen 2013).

Hormone-receptor positive means at least 1 % of nuclei stain; HER2 positive
means IHC 3+ or an amplified ISH result, IHC 2+ without ISH is undetermined.
A subtype is derived only when the receptors settle it; otherwise the answer is
None (unknown), which is a legal value.
"""

from dataclasses import dataclass

HR_POSITIVE_PERCENT = 1
KI67_HIGH_PERCENT = 20
PR_HIGH_PERCENT = 20

BREAST_FAMILY = "breast"


@dataclass(frozen=True)
class Receptors:
    er_percent: int | None
    pr_percent: int | None
    her2_ihc: str  # "", "0", "1+", "2+", "3+"
    her2_ish: str  # "", "amplified", "not_amplified", "equivocal"
    ki67_percent: int | None

    @property
    def any_given(self) -> bool:
        return any(
            value not in (None, "")
            for value in (
                self.er_percent,
                self.pr_percent,
                self.her2_ihc,
                self.her2_ish,
                self.ki67_percent,
            )
        )


def her2_positive(receptors: Receptors) -> bool | None:
    """True, False, or None when IHC and ISH leave HER2 undetermined."""
    if receptors.her2_ish == "amplified" or receptors.her2_ihc == "3+":
        return True
    if receptors.her2_ish == "not_amplified":
        return False
    if receptors.her2_ihc in ("0", "1+"):
        return False
    return None


def derive_breast_subtype(receptors: Receptors) -> str | None:
    """The St Gallen 2013 surrogate subtype code, or None when it cannot be settled."""
    er, pr, ki67 = receptors.er_percent, receptors.pr_percent, receptors.ki67_percent
    her2 = her2_positive(receptors)
    if er is None or pr is None or her2 is None:
        return None
    er_pos = er >= HR_POSITIVE_PERCENT
    pr_pos = pr >= HR_POSITIVE_PERCENT
    if her2:
        return "luminal_b_like_her2_positive" if (er_pos or pr_pos) else "her2_enriched"
    if not er_pos:
        # ER-negative, PR-positive, HER2-negative tumours fit no 2013 surrogate.
        return "triple_negative" if not pr_pos else None
    if pr < PR_HIGH_PERCENT:
        return "luminal_b_like_her2_negative"
    if ki67 is None:
        return None
    return "luminal_a_like" if ki67 < KI67_HIGH_PERCENT else "luminal_b_like_her2_negative"
