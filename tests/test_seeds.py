"""The shipped seed vocabularies: complete, consistent, and loaded with their provenance."""

import csv
import json
import re
from pathlib import Path

import pytest
from django.conf import settings

from registry.models import Morphology, Subtype, Topography, VocabularyRelease

SEEDS = Path(settings.BASE_DIR) / "seeds"
BREAST_SUBTYPES = {
    "luminal_a_like",
    "luminal_b_like_her2_negative",
    "luminal_b_like_her2_positive",
    "her2_enriched",
    "triple_negative",
}


def rows(name: str) -> list[dict[str, str]]:
    with (SEEDS / name).open(encoding="utf-8", newline="") as seed:
        return list(csv.DictReader(seed))


def codes(name: str) -> list[str]:
    return [row["code"] for row in rows(name)]


def manifest() -> dict:
    return json.loads((SEEDS / "manifest.json").read_text())


# ---------------------------------------------------------------- topography


def test_topography_covers_c00_0_to_c80_9():
    topography = codes("topography.csv")
    assert len(topography) >= 300
    assert len(set(topography)) == len(topography)
    assert all(re.fullmatch(r"C\d\d\.\d", code) for code in topography)
    assert (topography[0], topography[-1]) == ("C00.0", "C80.9")
    assert topography == sorted(topography)


@pytest.mark.parametrize(
    ("code", "title"),
    [
        ("C44.4", "skin of scalp and neck"),
        ("C50.9", "breast, nos"),
        ("C80.9", "unknown primary site"),
        ("C34.9", "lung, nos"),
        ("C71.9", "brain, nos"),
    ],
)
def test_topography_has_the_sites_the_registry_talks_about(code, title):
    titles = {row["code"]: row["title"] for row in rows("topography.csv")}
    assert titles[code].lower() == title


def test_every_topography_category_has_a_title_and_a_site_group():
    categories = {row["category"]: row for row in rows("topography_categories.csv")}
    used = {code[:3] for code in codes("topography.csv")}
    assert used == set(categories)
    for category in categories.values():
        assert category["title"].strip(), category
        assert category["site_group"].strip(), category


def test_the_site_groups_include_the_rare_metastatic_sites():
    groups = {row["site_group"] for row in rows("topography_categories.csv")}
    assert {"Skin", "Bone", "Eye and orbit", "Liver", "Lung", "Brain and CNS"} <= groups


# ---------------------------------------------------------------- morphology


def test_morphology_is_a_curated_subset_with_the_breast_codes():
    morphology = codes("morphology.csv")
    assert len(morphology) >= 60
    assert len(set(morphology)) == len(morphology)
    assert all(re.fullmatch(r"\d{4}/[0-369]", code) for code in morphology)
    assert {"8500/3", "8520/3", "8500/6", "8520/6", "8720/3", "8720/6"} <= set(morphology)


# Issue 24: tumours a registrar met in published case reports and the old subset refused.
ISSUE_24_MORPHOLOGY = [
    "8461/3",
    "9020/3",
    "9090/3",
    "8130/3",
    "8460/3",
    "8230/3",
    "8253/3",
    "8770/3",
    "9581/3",
    "9442/3",
    "9470/3",
    "9140/3",
    "8941/3",
]


def test_morphology_holds_the_seer_reportable_list_and_the_codes_issue_24_missed():
    morphology = set(codes("morphology.csv"))
    assert len(morphology) > 1200
    assert set(ISSUE_24_MORPHOLOGY) <= morphology
    # A metastasis of each is coded /6, so each needs its metastatic form too.
    assert {code[:4] + "/6" for code in ISSUE_24_MORPHOLOGY} <= morphology


def test_every_malignant_morphology_has_its_metastatic_form():
    morphology = set(codes("morphology.csv"))
    assert {code[:4] + "/6" for code in morphology if code.endswith("/3")} <= morphology


def test_every_metastatic_morphology_has_its_primary_form():
    morphology = set(codes("morphology.csv"))
    metastatic = {code for code in morphology if code.endswith("/6")}
    assert metastatic
    assert {code[:4] + "/3" for code in metastatic} <= morphology


# ---------------------------------------------------------------- subtypes


def test_subtypes_cover_the_breast_lung_and_colorectal_families():
    by_family: dict[str, set[str]] = {}
    for row in rows("subtypes.csv"):
        by_family.setdefault(row["family"], set()).add(row["code"])
        assert row["title"].strip() and row["definition"].strip(), row
    assert by_family["breast"] == BREAST_SUBTYPES
    assert by_family["lung"]
    assert by_family["colorectal"]


def test_every_subtype_family_is_the_family_of_some_primary_site():
    families = {row["family"] for row in rows("subtypes.csv")}
    site_families = {row["subtype_family"] for row in rows("topography_categories.csv")} - {""}
    assert families == site_families


# ---------------------------------------------------------------- manifest and the loaded rows


@pytest.mark.parametrize("vocabulary", ["topography", "morphology", "subtypes"])
def test_the_manifest_records_source_and_version(vocabulary):
    entry = manifest()[vocabulary]
    assert entry["source"].strip()
    assert entry["version"].strip()
    assert entry["files"]
    assert all((SEEDS / name).is_file() for name in entry["files"])


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("vocabulary", "model", "seed"),
    [
        ("topography", Topography, "topography.csv"),
        ("morphology", Morphology, "morphology.csv"),
        ("subtypes", Subtype, "subtypes.csv"),
    ],
)
def test_the_loaded_vocabularies_match_the_seeds_and_their_provenance(vocabulary, model, seed):
    assert set(model.objects.values_list("code", flat=True)) == set(codes(seed))
    entry = manifest()[vocabulary]
    release = VocabularyRelease.objects.filter(vocabulary=vocabulary).order_by("id").first()
    assert (release.source, release.version) == (entry["source"], entry["version"])


@pytest.mark.django_db
def test_the_loaded_topography_keeps_site_groups_and_subtype_families():
    scalp = Topography.objects.get(code="C44.4")
    breast = Topography.objects.get(code="C50.9")
    lung = Topography.objects.get(code="C34.1")
    assert (scalp.category, scalp.site_group, scalp.subtype_family) == ("C44", "Skin", "")
    assert (breast.category_title, breast.site_group, breast.subtype_family) == (
        "Breast",
        "Breast",
        "breast",
    )
    assert lung.subtype_family == "lung"
