"""How well linkage finds the same patient: duplicates planted in a synthetic registry.

`plant_duplicates` copies chosen synthetic cases as another hospital's record of
the same patient, with the disagreements real duplicates show: a year of
diagnosis off by one, a metastatic site coded at another level of its category
(C44.4 reported as C44.9, "skin, NOS"), receptors missing from one record, and
always another institution. Scoring the registry (`model.scored_pairs`) and
comparing the pairs found with the planted ones gives precision (how many
pairs found are planted) and recall (how many planted pairs are found).
Synthetic cases can also agree by chance, as real patients can; such pairs
count against precision here, which makes the figure conservative.
"""

import random
import uuid
from dataclasses import dataclass

from django.db import transaction

from registry.linkage.model import scored_pairs
from registry.linkage.records import linkage_frame
from registry.models import Case, Institution, Metastasis, Topography
from registry.synthetic.frequencies import INSTITUTION_COUNT, INSTITUTION_PREFIX

DUPLICATE_PREFIX = "dup-"
# How often a planted duplicate shows each disagreement (independently).
YEAR_OFF, SITE_LEVEL, RECEPTORS_MISSING = 0.4, 0.4, 0.4


@dataclass(frozen=True)
class Quality:
    threshold: float
    pairs_found: int
    planted: int
    true_found: int

    @property
    def precision(self) -> float:
        return self.true_found / self.pairs_found if self.pairs_found else 1.0

    @property
    def recall(self) -> float:
        return self.true_found / self.planted if self.planted else 1.0


def _other_level(site: str, codes: set[str]) -> str:
    """The same category's NOS code (.9), else .8, else the site itself."""
    for last in ("9", "8"):
        other = f"{site[:4]}{last}"
        if other != site and other in codes:
            return other
    return site


@transaction.atomic
def plant_duplicates(*, count: int, seed: int = 1) -> set[tuple[int, int]]:
    """Copy `count` synthetic cases as other hospitals' records; the (original, copy) ids."""
    rng = random.Random(seed)
    originals = list(
        Case.objects.filter(institution__code__startswith=INSTITUTION_PREFIX)
        .exclude(local_id__startswith=DUPLICATE_PREFIX)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    chosen = sorted(rng.sample(originals, min(count, len(originals))))
    hospitals = {
        institution.code: institution
        for institution in Institution.objects.filter(code__startswith=INSTITUTION_PREFIX)
    }
    codes = set(Topography.objects.values_list("code", flat=True))
    planted = set()
    for case in (
        Case.objects.filter(pk__in=chosen)
        .select_related("institution")
        .prefetch_related("metastases")
    ):
        original_id = case.pk
        lesions = list(case.metastases.all())
        number = int(case.institution.code[len(INSTITUTION_PREFIX) :])
        other = hospitals[f"{INSTITUTION_PREFIX}{number % INSTITUTION_COUNT + 1:03d}"]
        case.pk = case.id = None
        case.uuid = uuid.uuid4()
        case.institution = other
        case.local_id = f"{DUPLICATE_PREFIX}{original_id:09d}"
        case.linked_duplicate = False
        if case.year_of_diagnosis and rng.random() < YEAR_OFF:
            case.year_of_diagnosis += rng.choice((-1, 1))
        if rng.random() < RECEPTORS_MISSING:
            case.er_percent = case.pr_percent = case.ki67_percent = None
            case.her2_ihc = case.her2_ish = ""
            case.subtype = None
        case.save()
        recoded = rng.random() < SITE_LEVEL
        for index, lesion in enumerate(lesions):
            lesion.pk = lesion.id = None
            lesion.case = case
            if recoded and index == 0:
                lesion.site_id = _other_level(lesion.site_id, codes)
        Metastasis.objects.bulk_create(lesions)
        planted.add((original_id, case.pk))
    return planted


def measure(
    planted: set[tuple[int, int]], *, thresholds=(0.5, 0.8, 0.9, 0.95)
) -> tuple[list[Quality], int]:
    """Precision and recall of the model at each threshold; and the cases scored."""
    frame = linkage_frame(Case.objects.all())
    pairs = scored_pairs(frame, threshold=min(thresholds))
    found = [
        (tuple(sorted((int(low), int(high)))), float(probability))
        for low, high, probability in zip(
            pairs["unique_id_l"], pairs["unique_id_r"], pairs["match_probability"], strict=True
        )
    ]
    truth = {tuple(sorted(pair)) for pair in planted}
    qualities = []
    for threshold in thresholds:
        kept = {pair for pair, probability in found if probability >= threshold}
        qualities.append(Quality(threshold, len(kept), len(truth), len(kept & truth)))
    return qualities, len(frame)
