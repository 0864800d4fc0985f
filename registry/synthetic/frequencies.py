"""The frequency tables behind the synthetic cases, each with the reason beside it.

They aim at plausibility (which sites are common for which primary, which
receptor patterns occur, how long metastases take), not at epidemiological
precision: the registry is open, so no real patient is in here. The generator
(`registry.synthetic.generator`) draws from them; changing a weight changes the
cases every seed gives, so benchmarks measured before and after differ.
"""

import bisect
import itertools
import random
from collections.abc import Mapping
from dataclasses import dataclass, field

# Data abstracted up to the end of this year: diagnoses and intervals stay before it.
REFERENCE_YEAR = 2025
FIRST_DIAGNOSIS_YEAR = 2000
INSTITUTION_COUNT = 40
INSTITUTION_PREFIX = "synth-"
LOCAL_ID_PREFIX = "synth-"


class Weighted:
    """Values with relative weights; `pick` draws one with a single random number."""

    __slots__ = ("_cumulative", "_total", "values")

    def __init__(self, weights: Mapping[object, float]):
        self.values = tuple(weights)
        self._cumulative = list(itertools.accumulate(weights.values()))
        self._total = self._cumulative[-1]

    def pick(self, rng: random.Random):
        return self.values[bisect.bisect(self._cumulative, rng.random() * self._total)]

    def weights(self) -> dict:
        previous = 0.0
        shares = {}
        for value, cumulative in zip(self.values, self._cumulative, strict=True):
            shares[value] = (cumulative - previous) / self._total
            previous = cumulative
        return shares


# ---------------------------------------------------------------- metastatic sites
# A site *kind* is what a clinician would name (bone, scalp); each holds the
# ICD-O-3 codes it is coded with, and how such deposits present and are confirmed.


@dataclass(frozen=True)
class SiteKind:
    codes: Weighted
    presentations: Weighted
    confirmations: Weighted  # tuples of Confirmation values
    misdiagnoses: Weighted
    paired: bool = False  # laterality is left/right for paired organs and limbs


_IMAGING = Weighted(
    {
        ("ct",): 30,
        ("pet_ct",): 20,
        ("ct", "histology"): 25,
        ("histology", "ihc"): 15,
        ("us", "cytology"): 5,
        ("mri",): 5,
    }
)
_VISCERAL_PRESENTATION = Weighted({"incidental": 60, "mass": 30, "unknown": 10})
# A visceral deposit is sometimes taken for a new primary tumour before biopsy.
_VISCERAL_MISDIAGNOSIS = Weighted({"none": 75, "unknown": 15, "other_primary": 8, "other": 2})
# Cutaneous metastases are classically mistaken for cysts, lipomas, infection or
# dermatitis (Lookingbill 1993; Alcaraz 2012): a third or more are misdiagnosed.
_SKIN_MISDIAGNOSIS = Weighted(
    {"none": 45, "benign_lesion": 30, "infection": 10, "inflammatory": 10, "unknown": 5}
)
_SKIN_CONFIRMATION = Weighted({("histology",): 45, ("histology", "ihc"): 55})


def _visceral(codes, paired=False) -> SiteKind:
    return SiteKind(
        Weighted(codes), _VISCERAL_PRESENTATION, _IMAGING, _VISCERAL_MISDIAGNOSIS, paired
    )


SITE_KINDS: dict[str, SiteKind] = {
    # Axial skeleton first: red marrow draws most bone metastases (spine, pelvis, ribs).
    "bone": SiteKind(
        Weighted({"C41.2": 45, "C41.4": 25, "C41.3": 15, "C40.2": 15}),
        Weighted({"pain": 55, "incidental": 35, "mass": 5, "unknown": 5}),
        Weighted(
            {
                ("ct",): 20,
                ("mri",): 20,
                ("pet_ct",): 25,
                ("ct", "histology"): 20,
                ("mri", "histology"): 15,
            }
        ),
        Weighted({"none": 80, "unknown": 12, "other": 8}),
    ),
    "lung": _visceral({"C34.9": 85, "C34.1": 8, "C34.3": 7}, paired=True),
    "liver": _visceral({"C22.0": 100}),
    "brain": SiteKind(
        Weighted({"C71.9": 85, "C70.9": 15}),  # parenchyma, then leptomeninges
        Weighted({"mass": 70, "incidental": 20, "other": 10}),
        Weighted({("mri",): 55, ("ct", "mri"): 25, ("mri", "histology"): 20}),
        Weighted({"none": 85, "unknown": 10, "other": 5}),
    ),
    "lymph_node": _visceral({"C77.1": 35, "C77.2": 30, "C77.0": 20, "C77.9": 15}),
    "pleura": _visceral({"C38.4": 100}),
    "peritoneum": _visceral({"C48.2": 100}),
    "adrenal": _visceral({"C74.9": 100}, paired=True),
    "ovary": _visceral({"C56.9": 100}, paired=True),  # Krukenberg tumours
    "stomach": _visceral({"C16.9": 100}),
    "small_intestine": _visceral({"C17.9": 100}),
    "pancreas": _visceral({"C25.9": 100}),
    "kidney": _visceral({"C64.9": 100}, paired=True),
    "thyroid": _visceral({"C73.9": 100}),
    "soft_tissue": _visceral({"C49.9": 100}),
    # Skin other than the scalp: trunk (incl. the umbilicus) and limbs.
    "skin": SiteKind(
        Weighted({"C44.5": 60, "C44.6": 12, "C44.7": 12, "C44.3": 16}),
        Weighted(
            {"nodule": 65, "plaque": 12, "erythema": 10, "ulcer": 6, "other": 4, "unknown": 3}
        ),
        _SKIN_CONFIRMATION,
        _SKIN_MISDIAGNOSIS,
        paired=True,
    ),
    # Scalp (C44.4): a nodule taken for a cyst, or alopecia neoplastica (the founding case).
    "scalp": SiteKind(
        Weighted({"C44.4": 100}),
        Weighted(
            {
                "nodule": 60,
                "alopecia_neoplastica": 15,
                "plaque": 10,
                "ulcer": 5,
                "erythema": 5,
                "unknown": 5,
            }
        ),
        _SKIN_CONFIRMATION,
        Weighted(
            {"benign_lesion": 45, "none": 35, "inflammatory": 10, "infection": 5, "unknown": 5}
        ),
    ),
    "orbit": SiteKind(
        Weighted({"C69.6": 100}),
        Weighted({"mass": 60, "other": 30, "unknown": 10}),  # other: proptosis, diplopia
        Weighted({("mri",): 40, ("mri", "histology"): 40, ("ct", "histology"): 20}),
        Weighted({"none": 60, "inflammatory": 25, "other": 10, "unknown": 5}),
        paired=True,
    ),
}

# Short abstracted descriptions, screened like any submitted text (no digits, dates).
MISDIAGNOSIS_TEXTS: dict[tuple[str, str], tuple[str, ...]] = {
    ("scalp", "benign_lesion"): (
        "Rapidly growing scalp nodule first taken for a benign lesion",
        "Scalp nodule first taken for a sebaceous cyst",
        "Excised as a pilar cyst before histology",
    ),
    ("scalp", "inflammatory"): ("Patchy hair loss first taken for alopecia areata",),
    ("scalp", "infection"): ("First treated as folliculitis",),
    ("skin", "benign_lesion"): (
        "Taken for a lipoma",
        "First excised as a benign adnexal tumour",
        "Thought to be an epidermoid cyst",
    ),
    ("skin", "infection"): ("Treated as cellulitis before biopsy", "First drained as an abscess"),
    ("skin", "inflammatory"): ("Treated as dermatitis", "Erythema first taken for erysipelas"),
    ("orbit", "inflammatory"): ("Proptosis first treated as orbital inflammation",),
    ("bone", "other"): ("Back pain first attributed to degenerative disease",),
    ("brain", "other"): ("Symptoms first attributed to a stroke",),
}


# ---------------------------------------------------------------- primaries


@dataclass(frozen=True)
class PrimaryKind:
    """A primary cancer family: where it arises, its histologies, who has it, where it spreads."""

    sites: Weighted
    morphologies: Weighted
    female_share: float
    age_mean: float
    age_sd: float
    spread: Weighted  # site kinds, relative frequency of each as a metastatic site
    months_median: float  # median months from diagnosis to a metachronous metastasis
    paired: bool = False
    subtypes: Weighted | None = None  # lung and colorectal; breast derives from receptors
    systemic: Weighted = field(default_factory=lambda: Weighted({"chemotherapy": 1}))


# Weights of primaries: roughly the share of each among people living with
# metastatic cancer in Europe/US (breast, lung and colorectal first; prostate
# next), not their share of incident cancers.
PRIMARY_KINDS: dict[str, tuple[float, PrimaryKind]] = {
    "breast": (
        28,
        PrimaryKind(
            # Upper-outer quadrant: about half of breast cancers; NOS is frequent in registries.
            sites=Weighted({"C50.4": 40, "C50.9": 35, "C50.2": 10, "C50.8": 10, "C50.1": 5}),
            morphologies=Weighted(
                {
                    "8500/3": 75,
                    "8520/3": 12,
                    "8522/3": 5,
                    "8530/3": 3,
                    "8480/3": 2,
                    "8507/3": 2,
                    "8575/3": 1,
                }
            ),
            female_share=0.99,  # male breast cancer is about 1 %
            age_mean=58,
            age_sd=13,
            # Bone is the first distant site in 40-50 % (Kennecke 2010, J Clin Oncol 28:3271);
            # skin metastases in a few per cent, the scalp in a small fraction of those.
            spread=Weighted(
                {
                    "bone": 42,
                    "lung": 20,
                    "liver": 18,
                    "brain": 8,
                    "lymph_node": 6,
                    "pleura": 3,
                    "skin": 2.5,
                    "peritoneum": 1,
                    "scalp": 0.6,
                    "adrenal": 0.5,
                    "ovary": 0.3,
                    "orbit": 0.3,
                    "stomach": 0.2,
                }
            ),
            months_median=40,
            paired=True,
        ),
    ),
    "lung": (
        22,
        PrimaryKind(
            sites=Weighted({"C34.1": 45, "C34.3": 30, "C34.9": 20, "C34.2": 5}),
            morphologies=Weighted(
                {"8140/3": 45, "8070/3": 25, "8041/3": 13, "8046/3": 12, "8012/3": 5}
            ),
            female_share=0.45,
            age_mean=67,
            age_sd=10,
            # Nervous system, bone, liver, adrenal (Riihimäki 2014, Lung Cancer 86:78).
            spread=Weighted(
                {
                    "brain": 28,
                    "bone": 26,
                    "liver": 18,
                    "adrenal": 10,
                    "lung": 8,
                    "pleura": 5,
                    "lymph_node": 3,
                    "skin": 1,
                    "kidney": 0.5,
                    "scalp": 0.25,
                    "orbit": 0.1,
                    "small_intestine": 0.2,
                }
            ),
            months_median=10,
            paired=True,
            # Driver frequencies in Western non-squamous NSCLC; a fifth untested.
            subtypes=Weighted(
                {
                    "kras_mutant": 25,
                    "egfr_mutant": 13,
                    "alk_rearranged": 4,
                    "met_exon14_skipping": 3,
                    "braf_v600e_mutant": 2,
                    "ros1_rearranged": 1,
                    "ret_rearranged": 1.5,
                    "no_actionable_driver": 30,
                    None: 20,
                }
            ),
            systemic=Weighted({"chemotherapy": 40, "immunotherapy": 40, "other": 20}),
        ),
    ),
    "colorectal": (
        14,
        PrimaryKind(
            sites=Weighted({"C18.7": 25, "C18.0": 15, "C18.2": 10, "C19.9": 10, "C20.9": 40}),
            morphologies=Weighted({"8140/3": 85, "8480/3": 10, "8490/3": 5}),
            female_share=0.45,
            age_mean=66,
            age_sd=12,
            # Liver, lung, peritoneum (Riihimäki 2016, Sci Rep 6:29765); brain 1-3 %.
            spread=Weighted(
                {
                    "liver": 55,
                    "lung": 22,
                    "peritoneum": 12,
                    "bone": 4,
                    "lymph_node": 3,
                    "brain": 1.5,
                    "ovary": 1,
                    "skin": 0.5,
                    "scalp": 0.1,
                }
            ),
            months_median=18,
            # Consensus molecular subtypes (Guinney 2015, Nat Med 21:1350); 13 % mixed/unknown.
            subtypes=Weighted(
                {"crc_cms1": 14, "crc_cms2": 37, "crc_cms3": 13, "crc_cms4": 23, None: 13}
            ),
        ),
    ),
    "prostate": (
        8,
        PrimaryKind(
            sites=Weighted({"C61.9": 100}),
            morphologies=Weighted({"8140/3": 95, "8041/3": 5}),
            female_share=0.0,
            age_mean=70,
            age_sd=8,
            # Bone in ~85 % of metastatic prostate cancer (Gandaglia 2014, Prostate 74:210).
            spread=Weighted(
                {
                    "bone": 80,
                    "lymph_node": 7,
                    "lung": 6,
                    "liver": 5,
                    "brain": 0.8,
                    "adrenal": 0.5,
                    "skin": 0.2,
                }
            ),
            months_median=48,
            systemic=Weighted({"endocrine": 80, "chemotherapy": 20}),
        ),
    ),
    "melanoma": (
        5,
        PrimaryKind(
            # Cutaneous melanoma is coded to the skin (C44); trunk and limbs most often.
            sites=Weighted({"C44.5": 40, "C44.7": 25, "C44.6": 15, "C44.3": 12, "C44.4": 8}),
            morphologies=Weighted({"8720/3": 50, "8743/3": 30, "8721/3": 20}),
            female_share=0.48,
            age_mean=62,
            age_sd=15,
            # Lung, distant skin and soft tissue, nodes, liver, brain.
            spread=Weighted(
                {
                    "lung": 25,
                    "skin": 16,
                    "lymph_node": 15,
                    "liver": 15,
                    "brain": 15,
                    "bone": 7,
                    "scalp": 2,
                    "small_intestine": 1,
                    "orbit": 0.3,
                }
            ),
            months_median=30,
            systemic=Weighted({"immunotherapy": 80, "other": 20}),
        ),
    ),
    "kidney": (
        5,
        PrimaryKind(
            sites=Weighted({"C64.9": 100}),
            morphologies=Weighted({"8312/3": 80, "8310/3": 20}),
            female_share=0.38,
            age_mean=63,
            age_sd=11,
            # Renal cell carcinoma: lung, bone, then odd sites (scalp, orbit, thyroid, pancreas).
            spread=Weighted(
                {
                    "lung": 40,
                    "bone": 25,
                    "liver": 10,
                    "adrenal": 7,
                    "brain": 7,
                    "lymph_node": 5,
                    "skin": 1.5,
                    "pancreas": 1,
                    "scalp": 0.5,
                    "thyroid": 0.5,
                    "orbit": 0.3,
                }
            ),
            months_median=30,
            paired=True,
            systemic=Weighted({"immunotherapy": 60, "other": 40}),
        ),
    ),
    "pancreas": (
        4,
        PrimaryKind(
            sites=Weighted({"C25.0": 60, "C25.1": 20, "C25.2": 10, "C25.9": 10}),
            morphologies=Weighted({"8140/3": 90, "8246/3": 10}),
            female_share=0.48,
            age_mean=68,
            age_sd=10,
            # Liver, peritoneum, lung; the umbilicus (Sister Mary Joseph nodule) is skin.
            spread=Weighted(
                {"liver": 65, "peritoneum": 15, "lung": 12, "bone": 3, "lymph_node": 3, "skin": 0.5}
            ),
            months_median=8,
        ),
    ),
    "stomach": (
        4,
        PrimaryKind(
            sites=Weighted({"C16.0": 30, "C16.2": 20, "C16.3": 20, "C16.9": 30}),
            morphologies=Weighted({"8140/3": 60, "8144/3": 15, "8490/3": 25}),
            female_share=0.38,
            age_mean=67,
            age_sd=11,
            spread=Weighted(
                {
                    "liver": 45,
                    "peritoneum": 30,
                    "lung": 10,
                    "bone": 7,
                    "ovary": 3,
                    "lymph_node": 3,
                    "brain": 1,
                    "skin": 0.5,
                }
            ),
            months_median=12,
        ),
    ),
    "ovary": (
        3,
        PrimaryKind(
            sites=Weighted({"C56.9": 100}),
            morphologies=Weighted({"8441/3": 75, "8380/3": 15, "8480/3": 10}),
            female_share=1.0,
            age_mean=62,
            age_sd=11,
            spread=Weighted(
                {
                    "peritoneum": 50,
                    "liver": 18,
                    "pleura": 15,
                    "lung": 7,
                    "lymph_node": 5,
                    "bone": 2,
                    "brain": 1,
                    "skin": 0.5,
                }
            ),
            months_median=20,
            paired=True,
        ),
    ),
    "bladder": (
        2,
        PrimaryKind(
            sites=Weighted({"C67.9": 100}),
            morphologies=Weighted({"8120/3": 90, "8070/3": 10}),
            female_share=0.25,
            age_mean=71,
            age_sd=10,
            spread=Weighted(
                {"bone": 35, "lung": 27, "liver": 25, "lymph_node": 8, "brain": 2, "skin": 1}
            ),
            months_median=14,
        ),
    ),
    "thyroid": (
        1.5,
        PrimaryKind(
            sites=Weighted({"C73.9": 100}),
            morphologies=Weighted({"8260/3": 60, "8330/3": 30, "8345/3": 10}),
            female_share=0.7,
            age_mean=55,
            age_sd=15,
            # Lung and bone; the scalp is a classic odd site of follicular carcinoma.
            spread=Weighted(
                {
                    "lung": 60,
                    "bone": 30,
                    "brain": 4,
                    "liver": 3,
                    "scalp": 0.5,
                    "skin": 0.5,
                    "orbit": 0.2,
                }
            ),
            months_median=60,
        ),
    ),
    "uterus": (
        1.5,
        PrimaryKind(
            sites=Weighted({"C54.1": 100}),
            morphologies=Weighted({"8380/3": 85, "8441/3": 15}),
            female_share=1.0,
            age_mean=63,
            age_sd=10,
            spread=Weighted(
                {
                    "lung": 35,
                    "peritoneum": 25,
                    "liver": 15,
                    "bone": 10,
                    "lymph_node": 10,
                    "brain": 2,
                }
            ),
            months_median=20,
        ),
    ),
    "sarcoma": (
        1,
        PrimaryKind(
            sites=Weighted({"C49.2": 50, "C49.9": 30, "C49.4": 20}),
            morphologies=Weighted({"8800/3": 50, "8890/3": 50}),
            female_share=0.5,
            age_mean=55,
            age_sd=17,
            spread=Weighted(
                {"lung": 70, "bone": 10, "liver": 10, "brain": 2, "soft_tissue": 5, "skin": 1}
            ),
            months_median=18,
        ),
    ),
    "head_and_neck": (
        1,
        PrimaryKind(
            sites=Weighted({"C32.0": 40, "C32.9": 30, "C09.9": 30}),
            morphologies=Weighted({"8070/3": 100}),
            female_share=0.25,
            age_mean=63,
            age_sd=10,
            spread=Weighted({"lung": 60, "bone": 20, "liver": 12, "brain": 3, "skin": 2}),
            months_median=14,
        ),
    ),
    "unknown_primary": (
        1,
        PrimaryKind(
            sites=Weighted({"C80.9": 100}),
            morphologies=Weighted({"8140/3": 60, "8010/3": 30, "8070/3": 10}),
            female_share=0.5,
            age_mean=66,
            age_sd=11,
            spread=Weighted({"liver": 30, "bone": 25, "lung": 25, "lymph_node": 10, "brain": 8}),
            months_median=1,
        ),
    ),
}
PRIMARY_FAMILY = Weighted({name: weight for name, (weight, _) in PRIMARY_KINDS.items()})

# Breast surrogates among metastatic breast cancer: HR+/HER2- about two thirds,
# HER2+ a fifth, triple-negative an eighth (SEER, Howlader 2014 JNCI 106:dju055).
BREAST_PATTERN = Weighted(
    {
        "luminal_a_like": 28,
        "luminal_b_like_her2_negative": 37,
        "luminal_b_like_her2_positive": 13,
        "her2_enriched": 7,
        "triple_negative": 12,
        "not_reported": 3,
    }
)
# Receptor-driven tropism: HER2+ and triple-negative go to the brain and viscera,
# luminal tumours to bone (Kennecke 2010).
BREAST_SPREAD_BY_PATTERN = {
    "luminal_a_like": {"bone": 1.3, "brain": 0.6},
    "luminal_b_like_her2_negative": {"bone": 1.15},
    "luminal_b_like_her2_positive": {"brain": 1.8, "liver": 1.3},
    "her2_enriched": {"brain": 2.5, "liver": 1.5, "bone": 0.7},
    "triple_negative": {"brain": 2.5, "lung": 1.4, "bone": 0.5, "skin": 1.3},
}
# Triple-negative and HER2+ disease recurs earlier than luminal disease.
BREAST_MONTHS_FACTOR = {"triple_negative": 0.45, "her2_enriched": 0.55}

# ---------------------------------------------------------------- everything else

REVIEW_STATUS = Weighted({"verified": 85, "submitted": 7, "in_review": 5, "rejected": 3})
REJECTION_REASONS = (
    "Duplicate of a case already in the registry",
    "The metastasis was not confirmed by histology or imaging",
    "Primary site uncertain; resubmit once clarified",
)
GRADE = Weighted({"G1": 12, "G2": 40, "G3": 38, "GX": 10})
# About a third of metastatic cancers are metastatic at diagnosis (de novo stage IV).
STAGE_GROUP = Weighted(
    {
        "IV": 30,
        "I": 4,
        "IA": 5,
        "IB": 3,
        "II": 6,
        "IIA": 10,
        "IIB": 9,
        "III": 4,
        "IIIA": 8,
        "IIIB": 5,
        "IIIC": 4,
        "unknown": 12,
    }
)
METASTASIS_COUNT = Weighted({1: 55, 2: 30, 3: 15})
VITAL_STATUS = Weighted({"alive": 45, "dead": 45, "unknown": 10})
RESPONSE = Weighted({"CR": 10, "PR": 30, "SD": 25, "PD": 20, "unknown": 15})
LATERALITY = Weighted({"left": 48, "right": 48, "bilateral": 2, "unknown": 2})
INSTITUTION_NUMBER = Weighted(
    # Hospital sizes follow a long tail: a few referral centres submit most cases.
    {number: 1 / number**0.8 for number in range(1, INSTITUTION_COUNT + 1)}
)
INSTITUTION_COUNTRIES = ("FR", "DE", "IT", "ES", "NL", "BE", "SE", "PL", "PT", "AT")
# Local treatment of a metastasis: radiotherapy to bone and brain, excision of skin deposits.
LOCAL_TREATMENT = {
    "bone": (0.5, "radiotherapy"),
    "brain": (0.7, "radiotherapy"),
    "scalp": (0.6, "surgery"),
    "skin": (0.6, "surgery"),
    "orbit": (0.5, "radiotherapy"),
    "liver": (0.15, "surgery"),
    "lung": (0.1, "surgery"),
}

# Systemic therapy follows the subtype: endocrine (+ CDK4/6) for luminal, anti-HER2
# with chemotherapy for HER2+, chemotherapy (+ immunotherapy) for triple-negative.
BREAST_SYSTEMIC = {
    "luminal_a_like": (("endocrine", "cdk46_inhibitor"), ("endocrine",)),
    "luminal_b_like_her2_negative": (("endocrine", "cdk46_inhibitor"), ("chemotherapy",)),
    "luminal_b_like_her2_positive": (
        ("her2_targeted", "chemotherapy"),
        ("her2_targeted", "endocrine"),
    ),
    "her2_enriched": (("her2_targeted", "chemotherapy"),),
    "triple_negative": (("chemotherapy",), ("chemotherapy", "immunotherapy")),
    None: (("systemic_nos",), ("chemotherapy",)),
}
