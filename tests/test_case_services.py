"""Case services: keys per institution, replace and patch, versions, review, delete, history."""

import dataclasses

import pytest
from django.core.exceptions import ValidationError

from registry.models import Case, Metastasis, ReviewStatus, Treatment
from registry.review import ReviewTransitionRefused
from registry.selectors import with_case_details
from registry.services.case_store import prepare_case
from registry.services.cases import (
    Outcome,
    StaleVersion,
    case_create,
    case_delete,
    case_review,
    case_submit,
    case_update,
)
from tests.factories import founding_payload

BRAIN = "C71.9"
SKULL = "C41.0"


@pytest.fixture
def founding_case(hospital_a, submitter_a) -> Case:
    return case_create(
        institution=hospital_a, local_id="f-1", payload=founding_payload(), actor=submitter_a
    )


def stored(case: Case) -> Case:
    return Case.objects.get(pk=case.pk)


def sites(case: Case) -> list[str]:
    return [metastasis.site_id for metastasis in case.metastases.all()]


def treatments(case: Case) -> list[tuple[str, str, str | None]]:
    return [
        (t.modality, t.target, t.metastasis.site_id if t.metastasis else None)
        for t in case.treatments.select_related("metastasis")
    ]


# ---------------------------------------------------------------- create


def test_a_local_id_is_unique_within_an_institution(founding_case, hospital_a):
    with pytest.raises(ValidationError) as raised:
        case_create(institution=hospital_a, local_id="f-1", payload=founding_payload(), actor=None)
    assert list(raised.value.message_dict) == ["local_id"]
    assert Case.objects.count() == 1


def test_another_institution_may_use_the_same_local_id(founding_case, hospital_b):
    other = case_create(
        institution=hospital_b, local_id="f-1", payload=founding_payload(), actor=None
    )
    assert other.pk != founding_case.pk
    assert Case.objects.filter(local_id="f-1").count() == 2


@pytest.mark.parametrize("local_id", ["", "x" * 65])
def test_an_empty_or_overlong_local_id_is_rejected(hospital_a, local_id):
    with pytest.raises(ValidationError) as raised:
        case_create(
            institution=hospital_a, local_id=local_id, payload=founding_payload(), actor=None
        )
    assert list(raised.value.message_dict) == ["local_id"]


def test_a_new_case_starts_submitted_at_version_1(founding_case):
    case = stored(founding_case)
    assert (case.status, case.version) == (ReviewStatus.SUBMITTED, 1)


# ---------------------------------------------------------------- update


def test_a_full_replace_rewrites_the_case_and_its_children(founding_case, submitter_a):
    payload = founding_payload(age_at_diagnosis=60)
    payload["metastases"] = [{"site": BRAIN}, {"site": SKULL, "months_from_primary": 14}]
    payload["treatments"] = [
        {"modality": "radiotherapy", "target": "metastasis", "metastasis": 0},
    ]
    write = case_update(case=founding_case, payload=payload, actor=submitter_a)
    case = stored(founding_case)
    assert write.outcome == Outcome.UPDATED
    assert (case.age_at_diagnosis, case.version, write.case.version) == (60, 2, 2)
    assert sites(case) == [BRAIN, SKULL]
    assert treatments(case) == [("radiotherapy", "metastasis", BRAIN)]


def test_a_full_replace_leaves_out_what_the_payload_leaves_out(founding_case):
    case_update(case=founding_case, payload=founding_payload(menopausal_status=None), actor=None)
    assert stored(founding_case).menopausal_status == "unknown"


def test_an_update_is_recorded_in_the_history_with_its_actor(founding_case, submitter_a):
    case_update(
        case=founding_case, payload=founding_payload(age_at_diagnosis=60), actor=submitter_a
    )
    history = stored(founding_case).history.all()
    assert [(h.history_type, h.version, h.age_at_diagnosis) for h in history] == [
        ("~", 2, 60),
        ("+", 1, 56),
    ]
    assert history[0].history_user == submitter_a


def test_a_partial_update_keeps_unspecified_fields_and_children(founding_case, submitter_a):
    write = case_update(
        case=founding_case,
        payload={"age_at_diagnosis": 60, "year_of_diagnosis": 2019},
        actor=submitter_a,
        partial=True,
    )
    case = stored(founding_case)
    assert (write.outcome, case.version) == (Outcome.UPDATED, 2)
    assert (case.age_at_diagnosis, case.year_of_diagnosis) == (60, 2019)
    assert (case.sex, case.primary_site_id, case.primary_morphology_id) == (
        "female",
        "C50.9",
        "8500/3",
    )
    assert sites(case) == ["C44.4"]
    assert treatments(case) == [
        ("surgery", "metastasis", "C44.4"),
        ("systemic_nos", "systemic", None),
    ]


def test_a_partial_update_of_the_receptors_derives_the_subtype_again(hospital_a):
    luminal_a = {"er_percent": 90, "pr_percent": 50, "her2_ihc": "1+", "ki67_percent": 10}
    case = case_create(
        institution=hospital_a, local_id="r-1", payload=founding_payload(**luminal_a), actor=None
    )
    case_update(case=case, payload={"ki67_percent": 35}, actor=None, partial=True)
    assert stored(case).subtype_id == "luminal_b_like_her2_negative"


@pytest.mark.parametrize("partial", [False, True], ids=["replace", "patch"])
def test_resending_the_stored_case_writes_nothing(founding_case, submitter_a, partial):
    payload = founding_payload() if not partial else {"age_at_diagnosis": 56}
    write = case_update(case=founding_case, payload=payload, actor=submitter_a, partial=partial)
    case = stored(founding_case)
    assert (write.outcome, write.case.version, case.version) == (Outcome.UNCHANGED, 1, 1)
    assert case.history.count() == 1
    assert Metastasis.history.filter(case_id=case.pk).count() == 1


def test_resending_a_case_with_a_derived_subtype_and_capped_age_is_unchanged(hospital_a):
    payload = founding_payload(
        age_at_diagnosis=95, er_percent=0, pr_percent=0, her2_ihc="3+", ki67_percent=40
    )
    case = case_create(institution=hospital_a, local_id="r-1", payload=payload, actor=None)
    assert (stored(case).age_at_diagnosis, stored(case).subtype_id) == (90, "her2_enriched")
    write = case_update(case=case, payload=payload, actor=None)
    assert write.outcome == Outcome.UNCHANGED


def test_a_stale_expected_version_changes_nothing(founding_case, submitter_a):
    case_update(case=founding_case, payload=founding_payload(age_at_diagnosis=60), actor=None)
    with pytest.raises(StaleVersion) as raised:
        case_update(
            case=founding_case,
            payload=founding_payload(age_at_diagnosis=70),
            actor=submitter_a,
            expected_version=1,
        )
    assert raised.value.current_version == 2
    case = stored(founding_case)
    assert (case.version, case.age_at_diagnosis, case.history.count()) == (2, 60, 2)


def test_the_current_expected_version_lets_the_update_through(founding_case):
    write = case_update(
        case=founding_case,
        payload=founding_payload(age_at_diagnosis=60),
        actor=None,
        expected_version=1,
    )
    assert (write.outcome, write.case.version) == (Outcome.UPDATED, 2)


def test_an_invalid_update_changes_nothing(founding_case):
    with pytest.raises(ValidationError):
        case_update(case=founding_case, payload=founding_payload(sex="x"), actor=None)
    case = stored(founding_case)
    assert (case.version, case.sex, case.history.count()) == (1, "female", 1)
    assert sites(case) == ["C44.4"]


# ---------------------------------------------------------------- review


def test_a_rejection_needs_a_reason(founding_case, curator):
    for reason in ("", "   "):
        with pytest.raises(ValidationError) as raised:
            case_review(case=founding_case, status="rejected", reason=reason, actor=curator)
        assert list(raised.value.message_dict) == ["rejection_reason"]
    assert stored(founding_case).status == ReviewStatus.SUBMITTED


def test_a_rejection_stores_its_reason(founding_case, curator):
    case_review(
        case=founding_case, status="rejected", reason="Primary site not confirmed", actor=curator
    )
    case = stored(founding_case)
    assert (case.status, case.rejection_reason, case.version) == (
        ReviewStatus.REJECTED,
        "Primary site not confirmed",
        2,
    )
    assert case.history.first().history_user == curator


def test_a_rejection_reason_is_screened_for_identifiers(founding_case, curator):
    with pytest.raises(ValidationError) as raised:
        case_review(
            case=founding_case, status="rejected", reason="Call me on 06 12 34 56 78", actor=curator
        )
    assert list(raised.value.message_dict) == ["rejection_reason"]
    assert stored(founding_case).rejection_reason == ""


def test_an_unknown_review_status_is_rejected(founding_case, curator):
    with pytest.raises(ValidationError) as raised:
        case_review(case=founding_case, status="approved", actor=curator)
    assert list(raised.value.message_dict) == ["status"]


def test_verifying_clears_an_earlier_rejection_reason(founding_case, curator):
    case_review(case=founding_case, status="rejected", reason="Check the site", actor=curator)
    case_review(case=founding_case, status="in_review", actor=curator)  # re-opened
    case_review(case=founding_case, status="verified", actor=curator)
    case = stored(founding_case)
    assert (case.status, case.rejection_reason) == (ReviewStatus.VERIFIED, "")


def test_a_review_raises_the_stored_version(founding_case, curator):
    case_update(case=founding_case, payload=founding_payload(age_at_diagnosis=60), actor=None)
    case_review(case=founding_case, status="verified", actor=curator)
    case = stored(founding_case)
    assert (case.status, case.version, case.age_at_diagnosis) == (ReviewStatus.VERIFIED, 3, 60)


@pytest.mark.parametrize("status", [ReviewStatus.VERIFIED, ReviewStatus.REJECTED])
def test_a_submitters_change_sends_a_reviewed_case_back_to_submitted(
    founding_case, submitter_a, curator, status
):
    case_review(case=founding_case, status=status, reason="Check the site", actor=curator)
    case_update(
        case=founding_case, payload=founding_payload(age_at_diagnosis=60), actor=submitter_a
    )
    case = stored(founding_case)
    assert (case.status, case.rejection_reason) == (ReviewStatus.SUBMITTED, "")


def test_a_curators_fix_keeps_the_case_verified(founding_case, curator):
    case_review(case=founding_case, status="verified", actor=curator)
    case_update(case=founding_case, payload=founding_payload(age_at_diagnosis=60), actor=curator)
    assert stored(founding_case).status == ReviewStatus.VERIFIED


def test_an_unchanged_resend_keeps_the_review_status(founding_case, submitter_a, curator):
    case_review(case=founding_case, status="verified", actor=curator)
    case_update(case=founding_case, payload=founding_payload(), actor=submitter_a)
    assert stored(founding_case).status == ReviewStatus.VERIFIED


# ---------------------------------------------------------------- review transitions

STATUSES = [
    ReviewStatus.SUBMITTED,
    ReviewStatus.IN_REVIEW,
    ReviewStatus.VERIFIED,
    ReviewStatus.REJECTED,
]
ALLOWED = {
    ("submitted", "in_review"),
    ("submitted", "verified"),
    ("submitted", "rejected"),
    ("in_review", "verified"),
    ("in_review", "rejected"),
    ("verified", "in_review"),
    ("rejected", "in_review"),
    ("rejected", "rejected"),  # with another reason: the reason is corrected
}
REACH = {  # the reviews that bring a new case to each status
    "submitted": [],
    "in_review": ["in_review"],
    "verified": ["verified"],
    "rejected": ["rejected"],
}


@pytest.mark.parametrize("current", STATUSES)
@pytest.mark.parametrize("requested", STATUSES)
def test_a_review_follows_the_documented_transitions(founding_case, curator, current, requested):
    for status in REACH[current]:
        case_review(case=founding_case, status=status, reason="First reason", actor=curator)
    before = stored(founding_case)
    reason = "Another reason" if requested == ReviewStatus.REJECTED else ""
    if current == requested and (current, requested) not in ALLOWED:
        case_review(case=founding_case, status=requested, reason=reason, actor=curator)
        assert stored(founding_case).version == before.version  # nothing to do: no write
    elif (current, requested) in ALLOWED:
        reviewed = case_review(case=founding_case, status=requested, reason=reason, actor=curator)
        assert (reviewed.status, reviewed.version) == (requested, before.version + 1)
    else:
        with pytest.raises(ReviewTransitionRefused, match=f"from {current} it can go to"):
            case_review(case=founding_case, status=requested, reason=reason, actor=curator)
        after = stored(founding_case)
        assert (after.status, after.version) == (before.status, before.version)


def test_a_review_that_changes_nothing_writes_nothing(founding_case, curator):
    case_review(case=founding_case, status="rejected", reason="Check the site", actor=curator)
    history = founding_case.history.count()
    again = case_review(
        case=founding_case, status="rejected", reason="  Check the site ", actor=curator
    )
    assert again.version == 2
    assert founding_case.history.count() == history


# ---------------------------------------------------------------- delete


def test_a_deleted_case_leaves_its_history(founding_case, curator):
    pk = founding_case.pk
    case_delete(case=founding_case, actor=curator)
    assert not Case.objects.filter(pk=pk).exists()
    assert not Metastasis.objects.filter(case_id=pk).exists()
    assert not Treatment.objects.filter(case_id=pk).exists()
    deletion = Case.history.get(id=pk, history_type="-")
    # Its coded record stays; its key is redacted (tests/test_redaction.py).
    assert (deletion.history_user, deletion.primary_site_id) == (curator, "C50.9")
    assert deletion.local_id == f"redacted-{founding_case.uuid.hex}"
    assert Metastasis.history.filter(case_id=pk, history_type="-").count() == 1
    assert Treatment.history.filter(case_id=pk, history_type="-").count() == 2


def test_every_history_row_of_an_update_names_its_actor(founding_case, submitter_a):
    payload = founding_payload()
    payload["metastases"][0]["site"] = BRAIN
    case_update(case=founding_case, payload=payload, actor=submitter_a)
    rows = [
        *Case.history.filter(id=founding_case.pk),
        *Metastasis.history.filter(case_id=founding_case.pk),
        *Treatment.history.filter(case_id=founding_case.pk),
    ]
    assert {row.history_type for row in rows} == {"+", "~", "-"}
    assert {row.history_user for row in rows} == {submitter_a}


def test_every_history_row_of_a_deletion_names_its_actor(founding_case, curator):
    pk = founding_case.pk
    case_delete(case=founding_case, actor=curator)
    rows = [
        *Case.history.filter(id=pk, history_type="-"),
        *Metastasis.history.filter(case_id=pk, history_type="-"),
        *Treatment.history.filter(case_id=pk, history_type="-"),
    ]
    assert len(rows) == 4
    assert {row.history_user for row in rows} == {curator}


# ---------------------------------------------------------------- the explicit write path


def test_prepare_case_hands_back_a_frozen_prepared_case_and_leaves_the_instance_plain(
    hospital_a,
):
    case = Case(institution=hospital_a, local_id="p-1")
    prepared = prepare_case(case, founding_payload())
    assert prepared.case is case
    assert [m.site_id for m in prepared.metastases] == ["C44.4"]
    assert [t.modality for t in prepared.treatments] == [
        t["modality"] for t in founding_payload()["treatments"]
    ]
    assert prepared.flags == ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        prepared.case = Case()
    private = {"_pending_children", "_pending_flags", "_has_details", "_prefetched_objects_cache"}
    assert not private & set(vars(case))


def test_a_write_answers_with_details_held_in_memory_not_in_djangos_caches(hospital_a):
    write = case_submit(
        institution=hospital_a, local_id="m-1", payload=founding_payload(), actor=None
    )
    assert write.outcome == Outcome.CREATED
    details = write.details
    assert "_prefetched_objects_cache" not in vars(write.case)
    fresh = with_case_details(Case.objects.filter(pk=write.case.pk)).get()
    assert [(m.pk, m.site.title) for m in details.metastases] == [
        (m.pk, m.site.title) for m in fresh.metastases.all()
    ]
    assert [(t.pk, t.metastasis_id) for t in details.treatments] == [
        (t.pk, t.metastasis_id) for t in fresh.treatments.all()
    ]
    assert details.primary_site.title == fresh.primary_site.title  # read through to the case
    assert details.version == fresh.version == 1


def test_an_update_hands_back_the_written_details_and_an_unchanged_write_none(founding_case):
    to_brain = founding_payload(metastases=[{"site": BRAIN}], treatments=[])
    changed = case_update(case=founding_case, payload=to_brain, actor=None)
    assert changed.outcome == Outcome.UPDATED
    assert [m.site_id for m in changed.details.metastases] == [BRAIN]
    assert changed.details.metastases[0].pk == Metastasis.objects.get(case=founding_case).pk
    assert changed.details.treatments == ()
    again = case_update(case=founding_case, payload=to_brain, actor=None)
    assert (again.outcome, again.details) == (Outcome.UNCHANGED, None)
