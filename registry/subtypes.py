"""Breast surrogate subtypes from receptor status (St Gallen 2013).

Hormone-receptor positive means at least 1 % of nuclei stain; HER2 positive
means IHC 3+ or an amplified ISH result, IHC 2+ without ISH is undetermined.
Many reports give receptors in words only ("ER/PR positive, HER2 negative"):
a qualitative status (positive, negative, equivocal) stands in where no
percentage or score is known, and settles the subtype when the rules need no
more than it says (a positive PR without its percentage cannot tell PR ≥ 20 %).
A subtype is derived only when the receptors settle it; otherwise the answer is
None (unknown), which is a legal value. A subtype given with partial receptors is
still held to what they already rule out (`ruled_out_by`): ER 95 %, PR 5 % and no
HER2 cannot be Luminal A-like, whatever HER2 and Ki-67 turn out to be.
"""

from collections.abc import Callable
from dataclasses import dataclass, fields

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
    # In words, when no percentage or score is known: "", "positive", "negative", "equivocal".
    er_status: str = ""
    pr_status: str = ""
    her2_status: str = ""

    @property
    def any_given(self) -> bool:
        return any(getattr(self, name) not in (None, "") for name in RECEPTOR_FIELDS)


# The case fields that hold receptor status, named as on the case.
RECEPTOR_FIELDS = tuple(field.name for field in fields(Receptors))


def her2_by_test(receptors: Receptors) -> bool | None:
    """HER2 as IHC and ISH settle it: True, False, or None (not tested, or IHC 2+ alone)."""
    if receptors.her2_ish == "amplified" or receptors.her2_ihc == "3+":
        return True
    if receptors.her2_ish == "not_amplified":
        return False
    if receptors.her2_ihc in ("0", "1+"):
        return False
    return None


def her2_positive(receptors: Receptors) -> bool | None:
    """True, False, or None when neither the tests nor the reported status settle HER2."""
    by_test = her2_by_test(receptors)
    return by_test if by_test is not None else _status(receptors.her2_status)


def hormone_positive(percent: int | None, status: str) -> bool | None:
    """ER or PR: ≥ 1 % when the percentage is known, else the status in words, else None."""
    if percent is not None:
        return percent >= HR_POSITIVE_PERCENT
    return _status(status)


def _status(status: str) -> bool | None:
    return {"positive": True, "negative": False}.get(status)


def derive_breast_subtype(receptors: Receptors) -> str | None:
    """The St Gallen 2013 surrogate whose every requirement the receptors meet, or None.

    Read off `BREAST_SURROGATES`, the one statement of the rules: the subtype is
    derived whenever the known receptors (numbers or words) settle it, e.g. PR 5 %
    with HER2 3+ is Luminal B-like HER2-positive whatever ER is, and stays unknown
    while any completion of them could give another.
    """
    settled = [
        code
        for code, requirements in BREAST_SURROGATES.items()
        if all(requirement.holds(receptors) is True for requirement in requirements)
    ]
    return settled[0] if len(settled) == 1 else None


# ---------------------------------------------------------------- what known receptors rule out

# Each St Gallen 2013 surrogate as the conditions it requires (docs/clinical-edits.md). A
# condition answers True, False, or None while a receptor it reads is missing;
# `any_of` holds if one of its conditions holds.


@dataclass(frozen=True)
class Condition:
    """One requirement of a surrogate, e.g. "PR ≥ 20 %", read against partial receptors."""

    text: str
    test: Callable[[Receptors], bool | None]

    def holds(self, receptors: Receptors) -> bool | None:
        return self.test(receptors)


def _percent_at_least(name: str, label: str, threshold: int, status: str = "") -> Condition:
    """`status`: the receptor's status field, read when the percentage is missing.

    Negative means < 1 %, so below any threshold; positive means ≥ 1 %, which
    settles only the 1 % threshold.
    """

    def test(receptors: Receptors) -> bool | None:
        value = getattr(receptors, name)
        if value is not None:
            return value >= threshold
        reported = _status(getattr(receptors, status)) if status else None
        if reported is False:
            return False
        return True if reported and threshold <= HR_POSITIVE_PERCENT else None

    return Condition(f"{label} ≥ {threshold} %", test)


def _percent_below(name: str, label: str, threshold: int, status: str = "") -> Condition:
    at_least = _percent_at_least(name, label, threshold, status)

    def test(receptors: Receptors) -> bool | None:
        holds = at_least.holds(receptors)
        return None if holds is None else not holds

    return Condition(f"{label} < {threshold} %", test)


def _any_of(*conditions: Condition) -> Condition:
    def test(receptors: Receptors) -> bool | None:
        answers = [condition.holds(receptors) for condition in conditions]
        if any(answer is True for answer in answers):
            return True
        return None if any(answer is None for answer in answers) else False

    return Condition(" or ".join(condition.text for condition in conditions), test)


def _her2_is(positive: bool) -> Condition:
    def test(receptors: Receptors) -> bool | None:
        status = her2_positive(receptors)
        return None if status is None else status is positive

    return Condition("HER2-positive" if positive else "HER2-negative", test)


ER_POSITIVE = _percent_at_least("er_percent", "ER", HR_POSITIVE_PERCENT, "er_status")
ER_NEGATIVE = _percent_below("er_percent", "ER", HR_POSITIVE_PERCENT, "er_status")
PR_POSITIVE = _percent_at_least("pr_percent", "PR", HR_POSITIVE_PERCENT, "pr_status")
PR_NEGATIVE = _percent_below("pr_percent", "PR", HR_POSITIVE_PERCENT, "pr_status")
PR_HIGH = _percent_at_least("pr_percent", "PR", PR_HIGH_PERCENT, "pr_status")
PR_LOW = _percent_below("pr_percent", "PR", PR_HIGH_PERCENT, "pr_status")
KI67_LOW = _percent_below("ki67_percent", "Ki-67", KI67_HIGH_PERCENT)
KI67_HIGH = _percent_at_least("ki67_percent", "Ki-67", KI67_HIGH_PERCENT)

BREAST_SURROGATES: dict[str, tuple[Condition, ...]] = {
    "luminal_a_like": (ER_POSITIVE, _her2_is(False), KI67_LOW, PR_HIGH),
    "luminal_b_like_her2_negative": (ER_POSITIVE, _her2_is(False), _any_of(KI67_HIGH, PR_LOW)),
    "luminal_b_like_her2_positive": (_any_of(ER_POSITIVE, PR_POSITIVE), _her2_is(True)),
    "her2_enriched": (ER_NEGATIVE, PR_NEGATIVE, _her2_is(True)),
    "triple_negative": (ER_NEGATIVE, PR_NEGATIVE, _her2_is(False)),
}


def ruled_out_by(receptors: Receptors, subtype: str) -> list[str]:
    """The surrogate's requirements that the known receptors already fail ([] if none).

    Missing receptors rule nothing out; a subtype outside the breast surrogates is
    never ruled out here.
    """
    return [
        condition.text
        for condition in BREAST_SURROGATES.get(subtype, ())
        if condition.holds(receptors) is False
    ]


def possible_breast_subtypes(receptors: Receptors) -> list[str]:
    """The surrogates the known receptors still allow, in the definitions' order."""
    return [code for code in BREAST_SURROGATES if not ruled_out_by(receptors, code)]


def describe_receptors(receptors: Receptors) -> str:
    """The receptors as a registrar reads them, e.g. "ER 95 %, PR 5 %, HER2 not given"."""

    def percent(label: str, value: int | None, status: str = "") -> str:
        if value is not None:
            return f"{label} {value} %"
        return f"{label} {status}" if status else f"{label} not given"

    her2 = " ".join(
        part
        for part in (
            f"IHC {receptors.her2_ihc}" if receptors.her2_ihc else "",
            f"ISH {receptors.her2_ish.replace('_', ' ')}" if receptors.her2_ish else "",
            receptors.her2_status if not (receptors.her2_ihc or receptors.her2_ish) else "",
        )
        if part
    )
    return ", ".join(
        (
            percent("ER", receptors.er_percent, receptors.er_status),
            percent("PR", receptors.pr_percent, receptors.pr_status),
            f"HER2 {her2}" if her2 else "HER2 not given",
            percent("Ki-67", receptors.ki67_percent),
        )
    )
