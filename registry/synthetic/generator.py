"""Drawing synthetic cases from the frequency tables.

Pure and deterministic: case number `index` of seed `seed` is always the same
case, however the cases are generated (in one run or appended in several), so
`manage.py synth` can add cases to a registry and a benchmark can rebuild the
exact rows it measures. Nothing here touches the database.
"""

import math
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from registry.models.case import MAX_AGE
from registry.payload import CasePayload, MetastasisPayload, TreatmentPayload
from registry.subtypes import Receptors, derive_breast_subtype
from registry.synthetic.frequencies import (
    BREAST_MONTHS_FACTOR,
    BREAST_PATTERN,
    BREAST_SPREAD_BY_PATTERN,
    BREAST_SYSTEMIC,
    FIRST_DIAGNOSIS_YEAR,
    GRADE,
    INSTITUTION_NUMBER,
    INSTITUTION_PREFIX,
    LATERALITY,
    LOCAL_ID_PREFIX,
    LOCAL_TREATMENT,
    METASTASIS_COUNT,
    MISDIAGNOSIS_TEXTS,
    PRIMARY_FAMILY,
    PRIMARY_KINDS,
    REFERENCE_YEAR,
    REJECTION_REASONS,
    RESPONSE,
    REVIEW_STATUS,
    SITE_KINDS,
    STAGE_GROUP,
    VITAL_STATUS,
    Weighted,
)

# ---------------------------------------------------------------- the record


@dataclass(slots=True)
class SyntheticCase:
    """A generated case: what a hospital would send (`fields`), and where it belongs."""

    index: int
    uuid: uuid.UUID
    local_id: str
    institution: int  # 1..INSTITUTION_COUNT, see `institution_code`
    status: str
    rejection_reason: str
    fields: CasePayload  # the case, its metastases and treatments; no literature fields

    @property
    def metastases(self) -> list[MetastasisPayload]:
        return self.fields["metastases"]

    @property
    def treatments(self) -> list[TreatmentPayload]:
        return self.fields["treatments"]

    def payload(self) -> CasePayload:
        """The case as an API/batch payload (`registry.payload` shape)."""
        return {**self.fields, "local_id": self.local_id, "source": "hospital"}


def institution_code(number: int) -> str:
    return f"{INSTITUTION_PREFIX}{number:03d}"


def local_id(index: int, prefix: str = LOCAL_ID_PREFIX) -> str:
    # Zero-padded so that the largest local_id is the last case generated.
    return f"{prefix}{index:09d}"


def case_rng(seed: int, index: int) -> random.Random:
    """The random stream of one case: the same (seed, index) gives the same case."""
    return random.Random((seed << 40) ^ index)


def generate_cases(
    seed: int, start: int, count: int, prefix: str = LOCAL_ID_PREFIX
) -> Iterator[SyntheticCase]:
    """Cases number `start` to `start + count - 1` of `seed`."""
    for index in range(start, start + count):
        yield generate_case(seed, index, prefix)


def generate_case(seed: int, index: int, prefix: str = LOCAL_ID_PREFIX) -> SyntheticCase:
    rng = case_rng(seed, index)
    family = PRIMARY_FAMILY.pick(rng)
    kind = PRIMARY_KINDS[family][1]
    primary_site = kind.sites.pick(rng)
    morphology = kind.morphologies.pick(rng)
    female = rng.random() < kind.female_share
    age = min(MAX_AGE, max(15, round(rng.gauss(kind.age_mean, kind.age_sd))))
    year = _diagnosis_year(rng)
    stage = STAGE_GROUP.pick(rng)

    er = pr = ki67 = None
    her2_ihc = her2_ish = ""
    subtype = None
    spread = kind.spread
    months_median = kind.months_median
    if family == "breast":
        pattern = BREAST_PATTERN.pick(rng)
        if pattern != "not_reported":
            er, pr, her2_ihc, her2_ish, ki67 = _breast_receptors(rng, pattern)
            subtype = derive_breast_subtype(Receptors(er, pr, her2_ihc, her2_ish, ki67))
            spread = _breast_spread(pattern)
            months_median *= BREAST_MONTHS_FACTOR.get(pattern, 1.0)
    elif kind.subtypes is not None and (family != "lung" or morphology != "8070/3"):
        # Driver testing is done on non-squamous lung cancer.
        subtype = kind.subtypes.pick(rng)

    horizon = (REFERENCE_YEAR - year) * 12 + 11  # months until the data were abstracted
    metastases, kinds = _metastases(rng, spread, primary_site, morphology, stage, months_median)
    for metastasis in metastases:
        metastasis["months_from_primary"] = min(metastasis["months_from_primary"], horizon)
    last_event = max(m["months_from_primary"] for m in metastases)
    treatments = _treatments(rng, kind, family, subtype, stage, metastases, kinds)
    for treatment in treatments:
        treatment["months_from_primary"] = min(treatment["months_from_primary"], horizon)
    vital = VITAL_STATUS.pick(rng)
    follow_up = (
        None if vital == "unknown" else min(horizon, last_event + int(rng.expovariate(1 / 18)))
    )
    status = REVIEW_STATUS.pick(rng)
    # The order of the draws below is part of the seed's meaning: keep it.
    case_uuid = uuid.UUID(int=rng.getrandbits(128), version=4)
    institution = INSTITUTION_NUMBER.pick(rng)
    rejection_reason = rng.choice(REJECTION_REASONS) if status == "rejected" else ""
    return SyntheticCase(
        index=index,
        uuid=case_uuid,
        local_id=local_id(index, prefix),
        institution=institution,
        status=status,
        rejection_reason=rejection_reason,
        fields={
            "sex": "female" if female else "male",
            "age_at_diagnosis": age,
            "menopausal_status": _menopausal_status(rng, female, age, family),
            "year_of_diagnosis": year,
            "primary_site": primary_site,
            "primary_morphology": morphology,
            "primary_laterality": LATERALITY.pick(rng) if kind.paired else "not_applicable",
            "grade": GRADE.pick(rng),
            "stage_group": stage,
            "er_percent": er,
            "pr_percent": pr,
            "her2_ihc": her2_ihc,
            "her2_ish": her2_ish,
            "ki67_percent": ki67,
            "subtype": subtype,
            "vital_status": vital,
            "follow_up_months": follow_up,
            "metastases": metastases,
            "treatments": treatments,
        },
    )


def _diagnosis_year(rng: random.Random) -> int:
    # More recent years hold more cases: registries grow and survival lengthens.
    span = REFERENCE_YEAR - FIRST_DIAGNOSIS_YEAR
    return FIRST_DIAGNOSIS_YEAR + min(span, int(span * math.sqrt(rng.random()) + 0.5))


def _menopausal_status(rng, female: bool, age: int, family: str) -> str:
    if not female:
        return "not_applicable"
    if family not in ("breast", "ovary", "uterus") and rng.random() < 0.7:
        return "unknown"  # recorded mostly where it matters for treatment
    if age < 45:
        return "premenopausal"
    if age < 55:
        return ("premenopausal", "perimenopausal", "postmenopausal")[rng.randrange(3)]
    return "postmenopausal"


def _breast_receptors(rng: random.Random, pattern: str):
    """ER %, PR %, HER2 IHC, HER2 ISH, Ki-67 % typical of a St Gallen surrogate."""
    negative_her2 = (("0", ""), ("1+", ""), ("2+", "not_amplified"))
    positive_her2 = (("3+", ""), ("3+", ""), ("2+", "amplified"))
    if pattern == "luminal_a_like":
        return (
            rng.randint(50, 100),
            rng.randint(20, 100),
            *rng.choice(negative_her2),
            rng.randint(1, 19),
        )
    if pattern == "luminal_b_like_her2_negative":
        high_ki67 = rng.random() < 0.7
        return (
            rng.randint(10, 100),
            rng.randint(20, 100) if high_ki67 else rng.randint(0, 19),
            *rng.choice(negative_her2),
            rng.randint(20, 70) if high_ki67 else rng.randint(5, 40),
        )
    if pattern == "luminal_b_like_her2_positive":
        return (
            rng.randint(10, 100),
            rng.randint(0, 100),
            *rng.choice(positive_her2),
            rng.randint(15, 70),
        )
    if pattern == "her2_enriched":
        return (0, 0, *rng.choice(positive_her2), rng.randint(20, 80))
    # Triple-negative: receptor staining below 1 %, HER2 0 or 1+, high proliferation.
    return (0, 0, *rng.choice(negative_her2[:2]), rng.randint(30, 90))


def _breast_spread(pattern: str) -> Weighted:
    spread = BREAST_SPREAD_BY_PATTERN[pattern]
    base = PRIMARY_KINDS["breast"][1].spread
    cached = _BREAST_SPREAD_CACHE.get(pattern)
    if cached is None:
        cached = Weighted(
            {site: share * spread.get(site, 1.0) for site, share in base.weights().items()}
        )
        _BREAST_SPREAD_CACHE[pattern] = cached
    return cached


_BREAST_SPREAD_CACHE: dict[str, Weighted] = {}


def _metastases(rng, spread, primary_site, morphology, stage, months_median):
    """The case's deposits at distinct sites (never the primary site), first one first."""
    count = METASTASIS_COUNT.pick(rng)
    deposit_morphology = morphology.split("/")[0] + "/6"
    months = 0 if stage == "IV" else int(rng.lognormvariate(math.log(months_median), 0.8))
    metastases: list[MetastasisPayload] = []
    kinds: list[str] = []
    seen = {primary_site}
    attempts = 0
    # A repeated site is drawn again; give up on the extra deposits, never on the first.
    while len(metastases) < count and (attempts < count * 4 or not metastases):
        attempts += 1
        kind_name = spread.pick(rng)
        site_kind = SITE_KINDS[kind_name]
        site = site_kind.codes.pick(rng)
        if site in seen:
            continue
        seen.add(site)
        if metastases and rng.random() < 0.6:
            months += int(rng.expovariate(1 / 10))  # later deposits, or synchronous ones
        misdiagnosis = site_kind.misdiagnoses.pick(rng)
        texts = MISDIAGNOSIS_TEXTS.get((kind_name, misdiagnosis))
        metastases.append(
            {
                "site": site,
                "laterality": LATERALITY.pick(rng) if site_kind.paired else "not_applicable",
                "months_from_primary": months,
                "presentation": site_kind.presentations.pick(rng),
                "size_mm": None
                if rng.random() < 0.2
                else max(1, int(rng.lognormvariate(3.0, 0.6))),
                "misdiagnosis": misdiagnosis,
                "misdiagnosis_text": rng.choice(texts) if texts and rng.random() < 0.7 else "",
                "confirmed_by": list(site_kind.confirmations.pick(rng)),
                "morphology": deposit_morphology if rng.random() < 0.9 else None,
            }
        )
        kinds.append(kind_name)
    return metastases, kinds


def _size_mm(rng) -> int:
    return max(1, int(rng.lognormvariate(3.0, 0.6)))


def _treatments(rng, kind, family, subtype, stage, metastases, kinds):
    """Surgery of the primary, one or two systemic lines, local treatment of deposits."""
    treatments: list[TreatmentPayload] = []
    first = metastases[0]["months_from_primary"]
    if stage not in ("IV", "unknown") and rng.random() < 0.75:
        treatments.append(_treatment(rng, "surgery", "primary", None, "curative", 0))
    for modality in _systemic(rng, kind, family, subtype):
        months = first + rng.randint(0, 2)
        treatments.append(_treatment(rng, modality, "systemic", None, "palliative", months))
    for index, (metastasis, kind_name) in enumerate(zip(metastases, kinds, strict=True)):
        local = LOCAL_TREATMENT.get(kind_name)
        if local and rng.random() < local[0]:
            months = metastasis["months_from_primary"] + rng.randint(0, 1)
            treatments.append(_treatment(rng, local[1], "metastasis", index, "palliative", months))
    return treatments


def _treatment(rng, modality, target, metastasis, intent, months) -> TreatmentPayload:
    """One treatment; its response is drawn last, after the months."""
    return {
        "modality": modality,
        "target": target,
        "metastasis": metastasis,
        "intent": intent,
        "months_from_primary": months,
        "response": RESPONSE.pick(rng),
    }


def _systemic(rng, kind, family, subtype) -> tuple[str, ...]:
    if rng.random() < 0.1:
        return ()  # best supportive care, or not reported
    if family == "breast":
        return rng.choice(BREAST_SYSTEMIC[subtype])
    if family == "lung" and subtype not in (None, "no_actionable_driver", "kras_mutant"):
        return ("other",)  # a tyrosine-kinase inhibitor for the driver
    return (kind.systemic.pick(rng),)


def vocabulary_codes() -> dict[str, set[str]]:
    """Every code the tables can produce, to check against the loaded vocabularies."""
    topography, morphology, subtypes = set(), set(), set()
    for _, kind in PRIMARY_KINDS.values():
        topography.update(kind.sites.values)
        morphology.update(kind.morphologies.values)
        morphology.update(code.split("/")[0] + "/6" for code in kind.morphologies.values)
        if kind.subtypes is not None:
            subtypes.update(code for code in kind.subtypes.values if code is not None)
    for site_kind in SITE_KINDS.values():
        topography.update(site_kind.codes.values)
    subtypes.update(code for code in BREAST_SPREAD_BY_PATTERN)
    return {"topography": topography, "morphology": morphology, "subtypes": subtypes}
