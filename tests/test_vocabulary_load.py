"""Loading vocabularies: idempotent, with provenance, from the seeds or an official WHO list."""

import io
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from registry.models import Morphology, Topography, VocabularyRelease
from registry.services.vocabulary_load import (
    read_morphology,
    read_subtypes,
    read_topography,
    vocabulary_load,
)
from registry.vocabularies import current_vocabularies, forget_vocabularies

SEEDS = Path(settings.BASE_DIR) / "seeds"
CATEGORIES = SEEDS / "topography_categories.csv"

OFFICIAL_TOPOGRAPHY = (
    "Kode\tLvl\tTitle\n"
    "C44\t3\tSKIN\n"
    "C444\t4\tSkin of scalp and neck (official)\n"
    "C444\tincl\tSkin of neck\n"
    "C444\tincl\tSkin of scalp\n"
    "C44.5\t4\tSkin of trunk\n"
    "C44.5\tincl\tSkin of back\n"
)
OFFICIAL_MORPHOLOGY = (
    "Code\tStruct\tLabel\n"
    "8500\t\tDuctal carcinomas\n"
    "85003\ttitle\tInfiltrating duct carcinoma, NOS\n"
    "85003\tsynonym\tDuct adenocarcinoma, NOS\n"
    "8520/6\ttitle\tLobular carcinoma, metastatic\n"
    "8520/6\tsynonym\tLobular adenocarcinoma, metastatic\n"
)


@pytest.fixture(autouse=True)
def fresh_vocabularies(db):
    """Rows these tests load roll back; the cached snapshot must not outlive them."""
    forget_vocabularies()
    yield
    forget_vocabularies()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_vocabularies(*args: str) -> str:
    out = io.StringIO()
    call_command("load_vocabularies", *args, stdout=out)
    return out.getvalue()


# ---------------------------------------------------------------- idempotence


def test_loading_the_seeds_again_changes_nothing():
    releases = VocabularyRelease.objects.count()
    output = load_vocabularies()
    assert output.count("0 created, 0 updated") == 3
    assert VocabularyRelease.objects.count() == releases


def test_loading_the_same_rows_again_records_no_release():
    files = [SEEDS / "topography.csv", CATEGORIES]
    result = vocabulary_load(
        vocabulary="topography",
        rows=read_topography(*files),
        files=files,
        source="another label",
        version="another version",
    )
    assert (result.created, result.updated, result.release) == (0, 0, None)
    assert result.unchanged == Topography.objects.count()


# ---------------------------------------------------------------- a changed file


def test_a_changed_title_updates_that_row_under_a_new_release(tmp_path):
    codes = tmp_path / "topography.csv"
    shutil.copy(SEEDS / "topography.csv", codes)
    text = codes.read_text().replace("C44.4,Skin of scalp and neck", "C44.4,Skin of scalp/neck")
    codes.write_text(text)
    releases = VocabularyRelease.objects.count()
    untouched_release = Topography.objects.get(code="C50.9").release_id

    result = vocabulary_load(
        vocabulary="topography",
        rows=read_topography(codes, CATEGORIES),
        files=[codes, CATEGORIES],
        source="registry test copy",
        version="test-1",
    )

    assert (result.created, result.updated) == (0, 1)
    assert VocabularyRelease.objects.count() == releases + 1
    release = VocabularyRelease.objects.get(pk=result.release.pk)
    assert (release.vocabulary, release.source, release.version) == (
        "topography",
        "registry test copy",
        "test-1",
    )
    assert (release.rows_created, release.rows_updated) == (0, 1)
    scalp = Topography.objects.get(code="C44.4")
    assert (scalp.title, scalp.release_id) == ("Skin of scalp/neck", release.pk)
    assert Topography.objects.get(code="C50.9").release_id == untouched_release
    assert current_vocabularies().topography["C44.4"].title == "Skin of scalp/neck"


def test_going_back_to_earlier_content_refreshes_the_cached_vocabularies(tmp_path):
    codes = tmp_path / "topography.csv"
    shutil.copy(SEEDS / "topography.csv", codes)
    codes.write_text(codes.read_text().replace("C44.4,Skin of scalp and neck", "C44.4,Changed"))
    vocabulary_load(
        vocabulary="topography",
        rows=read_topography(codes, CATEGORIES),
        files=[codes, CATEGORIES],
        source="registry test copy",
        version="test-1",
    )
    assert current_vocabularies().topography["C44.4"].title == "Changed"
    load_vocabularies()
    assert Topography.objects.get(code="C44.4").title == "Skin of scalp and neck"
    assert current_vocabularies().topography["C44.4"].title == "Skin of scalp and neck"


def test_a_new_code_is_created_and_old_codes_are_kept(tmp_path):
    codes = write(
        tmp_path, "morphology.csv", "code,title\n9395/3,Papillary tumor of the pineal region\n"
    )
    before = Morphology.objects.count()
    result = vocabulary_load(
        vocabulary="morphology",
        rows=read_morphology(codes),
        files=[codes],
        source="test",
        version="1",
    )
    assert (result.created, result.updated, result.unchanged) == (1, 0, 0)
    assert Morphology.objects.count() == before + 1
    added = Morphology.objects.get(code="9395/3")
    assert (added.histology, added.behaviour, added.title) == (
        "9395",
        3,
        "Papillary tumor of the pineal region",
    )


# ---------------------------------------------------------------- the official lists


def test_the_official_topography_list_is_read_with_preferred_titles(tmp_path):
    rows = read_topography(write(tmp_path, "Topoenglish.txt", OFFICIAL_TOPOGRAPHY), CATEGORIES)
    assert set(rows) == {"C44.4", "C44.5"}
    assert rows["C44.4"] == {
        "title": "Skin of scalp and neck (official)",
        "category": "C44",
        "category_title": "Skin",
        "site_group": "Skin",
        "subtype_family": "",
    }
    assert rows["C44.5"]["title"] == "Skin of trunk"


def test_the_official_morphology_list_is_read_in_both_code_forms(tmp_path):
    rows = read_morphology(write(tmp_path, "Morphenglish.txt", OFFICIAL_MORPHOLOGY))
    assert rows == {
        "8500/3": {
            "title": "Infiltrating duct carcinoma, NOS",
            "histology": "8500",
            "behaviour": 3,
        },
        "8520/6": {"title": "Lobular carcinoma, metastatic", "histology": "8520", "behaviour": 6},
    }


def test_the_command_loads_an_official_list_with_its_provenance(tmp_path):
    path = write(tmp_path, "Topoenglish.txt", OFFICIAL_TOPOGRAPHY)
    output = load_vocabularies(
        "--topography", str(path), "--source", "WHO ICD-O-3.2 (test)", "--release-version", "3.2"
    )
    assert "topography: 0 created, 1 updated, 1 unchanged" in output
    scalp = Topography.objects.select_related("release").get(code="C44.4")
    assert scalp.title == "Skin of scalp and neck (official)"
    assert (scalp.release.source, scalp.release.version) == ("WHO ICD-O-3.2 (test)", "3.2")
    assert Topography.objects.get(code="C44.5").title == "Skin of trunk"


def test_the_command_wants_provenance_with_an_official_list(tmp_path):
    path = write(tmp_path, "Topoenglish.txt", OFFICIAL_TOPOGRAPHY)
    with pytest.raises(CommandError, match="--source"):
        load_vocabularies("--topography", str(path))


# ---------------------------------------------------------------- files that cannot load


def test_a_category_without_a_site_group_row_is_a_clear_error(tmp_path):
    codes = write(tmp_path, "topo.csv", "code,title\nC44.4,Skin of scalp\nC99.1,Nowhere\n")
    with pytest.raises(ValidationError, match="no site group for categories C99"):
        read_topography(codes, CATEGORIES)


def test_a_category_with_an_empty_site_group_is_a_clear_error(tmp_path):
    codes = write(tmp_path, "topo.csv", "code,title\nC44.4,Skin of scalp\n")
    categories = write(tmp_path, "categories.csv", "category,title,site_group\nC44,Skin,\n")
    with pytest.raises(ValidationError, match="no site group for categories C44"):
        read_topography(codes, categories)


def test_the_command_names_the_category_without_a_site_group(tmp_path):
    path = write(tmp_path, "Topoenglish.txt", "Kode\tLvl\tTitle\nC991\t4\tNowhere\n")
    with pytest.raises(CommandError, match="C99"):
        load_vocabularies("--topography", str(path), "--source", "s", "--release-version", "v")
    assert not Topography.objects.filter(code="C99.1").exists()


@pytest.mark.parametrize(
    ("text", "needed"),
    [
        pytest.param("name,title\nC44.4,Skin of scalp\n", "code", id="no-code-column"),
        pytest.param("code,name\nC44.4,Skin of scalp\n", "title", id="no-title-column"),
        pytest.param("title\nSkin of scalp\n", "code", id="one-column"),
        pytest.param("", "empty", id="empty-file"),
    ],
)
def test_a_file_without_the_needed_columns_is_a_clear_error(tmp_path, text, needed):
    with pytest.raises(ValidationError, match=needed):
        read_topography(write(tmp_path, "topo.csv", text), CATEGORIES)


def test_a_file_without_any_code_is_a_clear_error(tmp_path):
    with pytest.raises(ValidationError, match="no codes"):
        read_morphology(write(tmp_path, "morph.csv", "code,title\n8500,Ductal carcinomas\n"))


def test_a_subtype_file_without_its_columns_is_a_clear_error(tmp_path):
    with pytest.raises(ValidationError, match="family"):
        read_subtypes(write(tmp_path, "subtypes.csv", "code,title\nluminal_a_like,Luminal A\n"))


def test_the_command_reports_a_missing_code_column(tmp_path):
    path = write(tmp_path, "Morphenglish.txt", "Struct\tLabel\ntitle\tDuct carcinoma\n")
    with pytest.raises(CommandError, match="code"):
        load_vocabularies("--morphology", str(path), "--source", "s", "--release-version", "v")
