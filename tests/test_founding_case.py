"""The founding case goes through the domain services as any submission would."""

from registry.models import Case, Subtype
from registry.services.cases import Outcome, case_create, case_update
from tests.factories import founding_payload


def test_founding_case_is_stored_with_unknown_subtype(hospital_a, submitter_a):
    case = case_create(
        institution=hospital_a, local_id="f-1", payload=founding_payload(), actor=submitter_a
    )
    stored = Case.objects.get(pk=case.pk)
    assert stored.primary_site_id == "C50.9"
    assert stored.subtype_id is None
    assert [m.site_id for m in stored.metastases.all()] == ["C44.4"]
    assert stored.treatments.get(target="metastasis").metastasis.site_id == "C44.4"
    assert stored.history.count() == 1
    assert stored.history.first().history_user == submitter_a


def test_resending_the_same_case_changes_nothing(hospital_a, submitter_a):
    case = case_create(
        institution=hospital_a, local_id="f-1", payload=founding_payload(), actor=submitter_a
    )
    write = case_update(case=case, payload=founding_payload(), actor=submitter_a)
    assert write.outcome == Outcome.UNCHANGED
    assert write.case.version == 1
    assert case.history.count() == 1
    assert Subtype.objects.filter(family="breast").count() == 5
