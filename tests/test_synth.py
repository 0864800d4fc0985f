"""The synthetic generator (`manage.py synth`): realistic proportions, valid rows, determinism.

A 2,000-case registry is loaded by COPY exactly as a million would be; the rows
are then read back through the models and held to the same validation edits,
subtype rules and audit trail as cases submitted through the API.
"""

import io
from collections import Counter

import pytest
from django.core.management import call_command
from django.db.models import Count, F, QuerySet

from registry.edits import check_case
from registry.models import Case, Institution, Metastasis, Treatment
from registry.progress import Progress
from registry.services.case_store import prepare_case
from registry.subtypes import BREAST_FAMILY, Receptors, derive_breast_subtype
from registry.synthetic import INSTITUTION_COUNT, generate_case, generate_cases
from registry.vocabularies import current_vocabularies

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

CASES = 2000
SEED = 11


def synth(cases: int = CASES, seed: int = SEED, reset: bool = True) -> str:
    out = io.StringIO()
    call_command("synth", cases=cases, seed=seed, reset=reset, stdout=out, stderr=out)
    return out.getvalue()


def synthetic() -> QuerySet[Case]:
    return Case.objects.filter(institution__code__startswith="synth-")


def site_counts() -> dict[str, int]:
    return dict(
        Metastasis.objects.filter(case__institution__code__startswith="synth-")
        .values_list("site_id")
        .annotate(n=Count("id"))
        .values_list("site_id", "n")
    )


@pytest.fixture
def loaded() -> str:
    return synth()


# ---------------------------------------------------------------- the command


def test_command_reports_what_it_wrote_and_draws_no_progress_off_a_terminal(loaded):
    assert f"Added {CASES:,} synthetic cases (seed {SEED}, from #0)" in loaded
    assert "\r" not in loaded
    assert synthetic().count() == CASES
    assert Institution.objects.filter(code__startswith="synth-").count() == INSTITUTION_COUNT


def test_append_continues_the_same_sequence_of_cases(loaded):
    once = site_counts()
    synth(cases=CASES // 2, reset=True)
    output = synth(cases=CASES // 2, reset=False)
    assert f"from #{CASES // 2:,}" in output
    assert site_counts() == once
    assert synthetic().values("local_id").distinct().count() == CASES


def test_same_seed_same_cases_other_seed_other_cases(loaded):
    first = site_counts()
    first_uuids = set(synthetic().values_list("uuid", flat=True))
    synth()
    assert site_counts() == first
    assert set(synthetic().values_list("uuid", flat=True)) == first_uuids
    synth(seed=SEED + 1)
    assert site_counts() != first


# ---------------------------------------------------------------- proportions


def test_common_sites_are_bone_lung_liver_brain_and_the_scalp_is_rare(loaded):
    groups = Counter(
        dict(
            Metastasis.objects.filter(case__institution__code__startswith="synth-")
            .values_list("site__site_group")
            .annotate(n=Count("id"))
            .values_list("site__site_group", "n")
        )
    )
    total = sum(groups.values())
    top_four = {group for group, _ in groups.most_common(4)}
    assert top_four == {"Bone", "Lung", "Liver", "Brain and CNS"}
    assert 0.20 < groups["Bone"] / total < 0.38
    assert 0.005 < groups["Skin"] / total < 0.06  # skin: a few per cent, the scalp included
    scalp = site_counts().get("C44.4", 0) / total
    assert 0 < scalp < 0.012
    assert scalp < (groups["Skin"] / total) / 2


def test_primaries_and_statuses_in_plausible_proportions(loaded):
    cases = synthetic()
    primaries = Counter(cases.values_list("primary_site__category", flat=True))
    assert [category for category, _ in primaries.most_common(2)] == ["C50", "C34"]
    assert 0.22 < primaries["C50"] / CASES < 0.34
    statuses = Counter(cases.values_list("status", flat=True))
    assert statuses["verified"] / CASES > 0.78
    assert (
        cases.filter(status="rejected").exclude(rejection_reason="").count() == statuses["rejected"]
    )
    assert cases.filter(primary_site__category="C61").exclude(sex="male").count() == 0
    breast = cases.filter(primary_site__category="C50")
    assert breast.filter(sex="female").count() / breast.count() > 0.95
    assert len(set(cases.values_list("institution_id", flat=True))) > INSTITUTION_COUNT // 2
    assert 1.3 < Metastasis.objects.filter(case__in=cases).count() / CASES < 2.0


# ---------------------------------------------------------------- consistency rules


def test_a_sample_of_stored_cases_passes_every_validation_edit(loaded):
    vocab = current_vocabularies()
    sample = (
        synthetic()
        .order_by("local_id")
        .prefetch_related("metastases", "treatments__metastasis")[: CASES : CASES // 200]
    )
    checked = 0
    for case in sample:
        check_case(case, list(case.metastases.all()), list(case.treatments.all()), vocab)
        checked += 1
    assert checked == 200


def test_breast_subtypes_agree_with_the_receptors_and_families_match(loaded):
    vocab = current_vocabularies()
    for case in synthetic().exclude(subtype=None).select_related("primary_site", "subtype"):
        assert case.subtype.family == case.primary_site.subtype_family
    breast = synthetic().filter(primary_site__subtype_family=BREAST_FAMILY)
    with_receptors = 0
    for case in breast:
        receptors = Receptors(
            case.er_percent, case.pr_percent, case.her2_ihc, case.her2_ish, case.ki67_percent
        )
        assert case.subtype_id == derive_breast_subtype(receptors)
        with_receptors += receptors.any_given
    assert with_receptors / breast.count() > 0.9
    triple_negative = breast.filter(subtype="triple_negative").count() / breast.count()
    assert 0.05 < triple_negative < 0.2
    assert vocab.subtypes  # the vocabulary the family check used


def test_every_row_has_its_creation_in_the_history(loaded):
    cases = synthetic()
    history = Case.history.filter(institution__code__startswith="synth-")
    assert history.filter(history_type="+").count() == CASES
    assert history.values("id").distinct().count() == CASES
    metastases = Metastasis.objects.filter(case__in=cases)
    assert (
        Metastasis.history.filter(case_id__in=cases.values("id"), history_type="+").count()
        == metastases.count()
    )
    assert (
        Treatment.history.filter(case_id__in=cases.values("id"), history_type="+").count()
        == Treatment.objects.filter(case__in=cases).count()
    )
    assert history.first().history_change_reason == f"synthetic, seed {SEED}"


def test_treatments_aimed_at_a_metastasis_name_one_of_the_same_case(loaded):
    aimed = Treatment.objects.filter(case__in=synthetic(), target="metastasis")
    assert aimed.exists()
    assert aimed.filter(metastasis=None).count() == 0
    assert aimed.exclude(metastasis__case_id=F("case_id")).count() == 0


# ---------------------------------------------------------------- the generator alone


def test_generated_payloads_pass_the_submission_path(hospital_a):
    """The same cases as API payloads (the benchmark posts them) are valid submissions."""
    vocab = current_vocabularies()
    for generated in generate_cases(SEED, 0, 100):
        payload = generated.payload()
        case = Case(institution=hospital_a, local_id=payload.pop("local_id"))
        prepare_case(case, payload, vocab)
        assert case.subtype_id == generated.fields["subtype"]


def test_a_case_depends_only_on_seed_and_index():
    assert generate_case(SEED, 1234) == generate_case(SEED, 1234)
    assert generate_case(SEED, 1234) != generate_case(SEED, 1235)
    assert generate_case(SEED, 1234) != generate_case(SEED + 1, 1234)


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_draws_on_a_terminal_and_stays_quiet_in_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    terminal = FakeTerminal()
    progress = Progress("synth", 10, stream=terminal)
    progress.update(10)
    assert terminal.getvalue().startswith("\rsynth: 10/10")
    monkeypatch.setenv("CI", "true")
    quiet = FakeTerminal()
    progress = Progress("synth", 10, stream=quiet)
    progress.update(10)
    progress.close()
    assert quiet.getvalue() == ""
