"""One patient, counted once: linkage finds a hospital's record of a published case,
a curator confirms it, and every statistic counts the person once."""

import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command

from registry.linkage.candidates import find_link_candidates
from registry.linkage.persons import link_decide, person_of
from registry.models import Case, CountedMetastasis, LinkCandidate, LinkStatus, ReviewStatus
from registry.selectors import CaseFilters, CountedSelection
from registry.services.cases import case_review
from registry.stats import site_counts
from registry.stats.counting import selected_cases
from tests.api_helpers import client_for
from tests.atlas_helpers import founding_report, hospital_case

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

SCALP = CaseFilters(site=("C44.4",))


@pytest.fixture
def report_and_record(curator, hospital_a, submitter_a):
    """A small synthetic registry, the founding report, and hospital A's record of the same
    patient: a year given by one source only, receptors missing, the site coded the same."""
    call_command("synth", cases=300, seed=3, reset=True, stdout=io.StringIO())
    report = founding_report(curator)
    record = hospital_case(hospital_a, submitter_a, curator, local_id="a-scalp-56")
    return report, record


def candidate_of(first: Case, second: Case) -> LinkCandidate:
    low, high = sorted((first.pk, second.pk))
    return LinkCandidate.objects.get(case_a_id=low, case_b_id=high)


def scalp_cases(user) -> int:
    return selected_cases(CountedSelection(user, SCALP)).n


def scalp_row(user) -> int:
    """Cases at C44.4 through the other route: per-site counts from the counted metastases."""
    table = site_counts(selection=CountedSelection(user, CaseFilters()), group_by="code")
    return next(row.cases for row in table.rows if row.key == "C44.4")


def test_the_hospitals_record_of_a_published_case_reaches_the_queue(report_and_record):
    report, record = report_and_record
    run = find_link_candidates()
    assert run.cases == Case.objects.count()
    candidate = candidate_of(report, record)
    assert candidate.status == LinkStatus.PENDING
    assert candidate.match_probability >= 0.8
    assert candidate.agreements["primary"]["level"] > 0
    # The queue holds mostly real pairs, not every breast cancer of the registry.
    assert LinkCandidate.objects.count() < 30
    # A second run adds nothing: decided or pending, a pair is queued once.
    assert find_link_candidates().candidates_added == 0


def test_once_confirmed_the_person_counts_once_in_every_statistic(
    report_and_record, curator, analyst
):
    report, record = report_and_record
    find_link_candidates()
    before = {user: (scalp_cases(user), scalp_row(user)) for user in (curator, analyst)}
    candidate = candidate_of(report, record)
    link_decide(
        candidate=candidate, status=LinkStatus.CONFIRMED, reason="Same patient.", actor=curator
    )
    for user in (curator, analyst):
        assert (scalp_cases(user), scalp_row(user)) == tuple(n - 1 for n in before[user])
    # Exactly one of the two is left out, in the cases and in the counted metastases alike.
    left_out = Case.objects.filter(pk__in=(report.pk, record.pk), linked_duplicate=True)
    assert left_out.count() == 1
    assert CountedMetastasis.objects.filter(
        case_id=left_out.get().pk, linked_duplicate=True
    ).exists()
    # The curator's API count agrees (the counted-metastasis route).
    response = client_for(curator).get("/api/v1/stats/", {"group_by": "code"})
    api_rows = {row["key"]: row["cases"] for row in response.json()["rows"]}
    assert api_rows["C44.4"] == before[curator][1] - 1


def test_a_rejected_pair_counts_twice_again(report_and_record, curator):
    report, record = report_and_record
    find_link_candidates()
    counted = scalp_cases(curator)
    candidate = candidate_of(report, record)
    link_decide(candidate=candidate, status=LinkStatus.CONFIRMED, reason="", actor=curator)
    link_decide(
        candidate=candidate, status=LinkStatus.REJECTED, reason="Two patients.", actor=curator
    )
    assert scalp_cases(curator) == counted
    assert not Case.objects.filter(linked_duplicate=True).exists()
    stored = candidate_of(report, record)
    assert (stored.reviewed_by, stored.review_reason) == (curator, "Two patients.")


def test_the_counted_report_of_a_person_is_one_analysts_count(report_and_record, curator, analyst):
    """Re-opening the counted case hands the count to the other report, not to nobody."""
    report, record = report_and_record
    find_link_candidates()
    link_decide(candidate=candidate_of(report, record), status=LinkStatus.CONFIRMED, reason="",
                actor=curator)  # fmt: skip
    counted = scalp_cases(analyst)
    first = Case.objects.get(pk=min(report.pk, record.pk))
    case_review(case=first, status=ReviewStatus.IN_REVIEW, actor=curator)
    assert scalp_cases(analyst) == counted
    assert not Case.objects.get(pk=max(report.pk, record.pk)).linked_duplicate
    assert Case.objects.get(pk=first.pk).linked_duplicate


def test_three_records_linked_in_a_chain_are_one_person(
    report_and_record, curator, hospital_b, submitter_b
):
    report, record = report_and_record
    third = hospital_case(hospital_b, submitter_b, curator, local_id="b-scalp-56")
    pairs = [(report, record), (record, third)]
    for first, second in pairs:
        low, high = sorted((first.pk, second.pk))
        candidate = LinkCandidate.objects.create(
            case_a_id=low, case_b_id=high, match_probability=0.99, match_weight=12
        )
        link_decide(candidate=candidate, status=LinkStatus.CONFIRMED, reason="", actor=curator)
    assert person_of(report.pk) == {report.pk, record.pk, third.pk}
    flags = Case.objects.filter(pk__in=person_of(report.pk)).values_list(
        "linked_duplicate", flat=True
    )
    assert sorted(flags) == [False, True, True]


@pytest.mark.parametrize("persona", ["analyst", "submitter_a"])
def test_only_curators_decide_that_two_cases_are_one_patient(request, report_and_record, persona):
    report, record = report_and_record
    low, high = sorted((report.pk, record.pk))
    candidate = LinkCandidate.objects.create(case_a_id=low, case_b_id=high, match_probability=0.9,
                                             match_weight=8)  # fmt: skip
    with pytest.raises(PermissionDenied):
        link_decide(candidate=candidate, status=LinkStatus.CONFIRMED, reason="",
                    actor=request.getfixturevalue(persona))  # fmt: skip
    assert not Case.objects.filter(linked_duplicate=True).exists()


def test_a_decision_reason_with_an_identifier_is_refused(report_and_record, curator):
    report, record = report_and_record
    low, high = sorted((report.pk, record.pk))
    candidate = LinkCandidate.objects.create(case_a_id=low, case_b_id=high, match_probability=0.9,
                                             match_weight=8)  # fmt: skip
    with pytest.raises(ValidationError):
        link_decide(
            candidate=candidate,
            status=LinkStatus.CONFIRMED,
            reason="Confirmed with Dr. John Smith by phone +33 1 23 45 67 89",
            actor=curator,
        )


def test_the_admin_queue_confirms_a_pair_and_shows_each_facts_agreement(
    report_and_record, curator_in_admin
):
    report, record = report_and_record
    find_link_candidates()
    candidate = candidate_of(report, record)
    page = curator_in_admin.get(f"/admin/registry/linkcandidate/{candidate.pk}/change/")
    assert page.status_code == 200
    assert "primary" in page.content.decode() and "C44.4" in page.content.decode()
    response = curator_in_admin.post(
        "/admin/registry/linkcandidate/",
        {"action": "confirm_pairs", "_selected_action": [candidate.pk]},
    )
    assert response.status_code == 302
    assert candidate_of(report, record).status == LinkStatus.CONFIRMED
    assert Case.objects.filter(pk__in=(report.pk, record.pk), linked_duplicate=True).count() == 1


def test_planted_duplicates_are_found_and_the_quality_command_reports_them():
    """The evaluation of docs/atlas.md at a small size: every planted pair is recalled."""
    output = io.StringIO()
    call_command("linkage_quality", cases=400, duplicates=20, seed=2, stdout=output)
    lines = output.getvalue().splitlines()
    assert lines[0].startswith("420 cases (20 planted duplicates) scored")
    recall_at_half = float(lines[1].rsplit("recall ", 1)[1])
    assert recall_at_half >= 0.95
    assert Case.objects.filter(local_id__startswith="dup-").count() == 20


def test_link_cases_queues_pairs_and_refuses_a_threshold_outside_0_1(report_and_record):
    output = io.StringIO()
    call_command("link_cases", stdout=output)
    assert "new candidates queued for review" in output.getvalue()
    assert LinkCandidate.objects.exists()
    with pytest.raises(CommandError):
        call_command("link_cases", threshold=1.5, stdout=io.StringIO())


def test_deleting_the_counted_report_counts_the_other_again(report_and_record, curator):
    from registry.services.cases import case_delete

    report, record = report_and_record
    low, high = sorted((report.pk, record.pk))
    candidate = LinkCandidate.objects.create(
        case_a_id=low, case_b_id=high, match_probability=0.99, match_weight=12
    )
    link_decide(candidate=candidate, status=LinkStatus.CONFIRMED, reason="", actor=curator)
    counted = Case.objects.get(pk__in=(low, high), linked_duplicate=False)
    other = high if counted.pk == low else low
    case_delete(case=counted, actor=curator)
    assert not Case.objects.get(pk=other).linked_duplicate
