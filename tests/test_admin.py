"""The curation admin: review queue, case corrections, review actions and API tokens."""

import re

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import flatten_fieldsets
from django.contrib.messages import get_messages
from django.db import connection
from django.forms import CheckboxInput
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from registry.admin.cases import CaseAdmin
from registry.models import ApiToken, Case, Metastasis, ReviewStatus
from registry.models.token import hash_token
from registry.payload import CASE_FIELDS
from registry.services.cases import case_create, case_review
from registry.services.tokens import token_issue
from tests.api_helpers import client_for
from tests.factories import founding_payload

CHANGELIST = reverse("admin:registry_case_changelist")
CASES = "/api/v1/cases/"
BONE_METASTASIS = {
    "site": "C41.2",
    "presentation": "pain",
    "confirmed_by": ["histology", "ct"],
    "morphology": "8500/6",
}


@pytest.fixture
def curator_client(curator_in_admin):
    """The curator logged in to the admin (tests/conftest.py), by this module's short name."""
    return curator_in_admin


def make_case(institution, actor, local_id: str, **changes) -> Case:
    return case_create(
        institution=institution,
        local_id=local_id,
        payload=founding_payload(**changes),
        actor=actor,
    )


def bone_case(institution, actor, local_id: str) -> Case:
    return make_case(
        institution,
        actor,
        local_id,
        metastases=[BONE_METASTASIS],
        treatments=[{"modality": "radiotherapy", "target": "metastasis", "metastasis": 0}],
    )


def listed(response) -> set[str]:
    assert response.status_code == 200
    return {case.local_id for case in response.context["cl"].result_list}


def change_url(case: Case) -> str:
    return reverse("admin:registry_case_change", args=[case.pk])


def page_data(response) -> dict:
    """The change page's forms as a browser would post them back, untouched."""
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms += [inline.formset.management_form, *inline.formset.forms]
    data = {}
    for form in forms:
        for name, field in form.fields.items():
            bound = form[name]
            value = bound.value()
            if isinstance(field.widget, CheckboxInput):
                if value:
                    data[bound.html_name] = "on"
            else:
                data[bound.html_name] = "" if value is None else value
    return data


def inline_formset(response, prefix: str):
    return next(
        inline.formset
        for inline in response.context["inline_admin_formsets"]
        if inline.formset.prefix == prefix
    )


def shown_messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


# ---------------------------------------------------------------- review queue


def test_queue_filters_by_status(curator_client, hospital_a, submitter_a, curator):
    verified = make_case(hospital_a, submitter_a, "verified-1")
    make_case(hospital_a, submitter_a, "submitted-1")
    case_review(case=verified, status=ReviewStatus.VERIFIED, actor=curator)

    assert listed(curator_client.get(CHANGELIST, {"status": "verified"})) == {"verified-1"}
    assert listed(curator_client.get(CHANGELIST, {"status": "submitted"})) == {"submitted-1"}


def test_queue_filters_by_institution_and_source(
    curator_client, hospital_a, hospital_b, submitter_a, submitter_b
):
    make_case(hospital_a, submitter_a, "a-1")
    make_case(hospital_b, submitter_b, "b-1", source="hospital")

    by_institution = {"institution": hospital_b.code}
    assert listed(curator_client.get(CHANGELIST, by_institution)) == {"b-1"}
    assert listed(curator_client.get(CHANGELIST, {"source": "literature"})) == {"a-1"}


def test_queue_filters_by_metastatic_and_primary_site_group(
    curator_client, hospital_a, submitter_a
):
    make_case(hospital_a, submitter_a, "scalp-1")
    bone_case(hospital_a, submitter_a, "bone-1")

    assert listed(curator_client.get(CHANGELIST, {"site_group": "Bone"})) == {"bone-1"}
    assert listed(curator_client.get(CHANGELIST, {"site_group": "Skin"})) == {"scalp-1"}
    assert listed(curator_client.get(CHANGELIST, {"primary_site_group": "Breast"})) == {
        "scalp-1",
        "bone-1",
    }
    assert listed(curator_client.get(CHANGELIST, {"primary_site_group": "Lung"})) == set()


def test_queue_takes_every_filter_of_the_api_by_its_api_name(
    curator_client, hospital_a, submitter_a
):
    make_case(hospital_a, submitter_a, "scalp-1")
    bone_case(hospital_a, submitter_a, "bone-1")
    make_case(hospital_a, submitter_a, "young-1", age_at_diagnosis=30)

    assert listed(curator_client.get(CHANGELIST, {"site": "C44.4,C41.2"})) == {
        "scalp-1",
        "bone-1",
        "young-1",
    }
    assert listed(curator_client.get(CHANGELIST, {"site": "C41.2", "age_min": "50"})) == {"bone-1"}
    assert listed(curator_client.get(CHANGELIST, {"age_max": "40"})) == {"young-1"}
    shown = curator_client.get(CHANGELIST, {"age_max": "40"})
    assert "age_max=40" in shown.content.decode()  # the active filter, with a way to clear it


def test_a_bad_filter_value_in_the_queue_is_the_admins_error_page(curator_client):
    response = curator_client.get(CHANGELIST, {"age_min": "old"})
    assert response.status_code == 302 and response["Location"].endswith("?e=1")


def test_queue_offers_every_site_group_of_the_vocabulary(curator_client):
    response = curator_client.get(CHANGELIST)
    site_groups = next(
        spec
        for spec in response.context["cl"].filter_specs
        if spec.title == "metastatic site group"
    )
    titles = {title for _, title in site_groups.lookup_choices}
    assert {"Skin", "Bone", "Brain and CNS", "Eye and orbit"} <= titles


def test_search_finds_cases_by_metastatic_site_code(curator_client, hospital_a, submitter_a):
    make_case(hospital_a, submitter_a, "scalp-1")
    bone_case(hospital_a, submitter_a, "bone-1")

    assert listed(curator_client.get(CHANGELIST, {"q": "C44.4"})) == {"scalp-1"}
    assert listed(curator_client.get(CHANGELIST, {"q": "c41"})) == {"bone-1"}
    assert listed(curator_client.get(CHANGELIST, {"q": "C50.9"})) == {"scalp-1", "bone-1"}


def test_search_finds_cases_by_local_id_and_uuid(curator_client, hospital_a, submitter_a):
    scalp = make_case(hospital_a, submitter_a, "scalp-1")
    bone_case(hospital_a, submitter_a, "bone-1")

    assert listed(curator_client.get(CHANGELIST, {"q": "bone"})) == {"bone-1"}
    assert listed(curator_client.get(CHANGELIST, {"q": str(scalp.uuid)})) == {"scalp-1"}
    assert listed(curator_client.get(CHANGELIST, {"q": str(scalp.uuid)[:8]})) == {"scalp-1"}


def test_search_means_what_the_apis_q_means(curator_client, curator, hospital_a, submitter_a):
    scalp = make_case(hospital_a, submitter_a, "scalp-1")
    bone_case(hospital_a, submitter_a, "bone-1")
    api = client_for(curator)
    for term in ("benign", "C41", "c44.4", "SCALP", str(scalp.uuid)[:8], str(scalp.uuid), "zzz"):
        in_the_api = {case["local_id"] for case in api.get(CASES, {"q": term}).json()["results"]}
        assert listed(curator_client.get(CHANGELIST, {"q": term})) == in_the_api, term


def test_queue_shows_metastatic_sites_and_institution(curator_client, hospital_a, submitter_a):
    bone_case(hospital_a, submitter_a, "bone-1")

    response = curator_client.get(CHANGELIST)

    assert "C41.2" in response.content.decode()
    assert "hosp-a" in response.content.decode()


def test_queue_costs_the_same_queries_for_2_and_10_cases(
    curator_client, hospital_a, hospital_b, submitter_a, submitter_b
):
    def queries_for_the_queue() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = curator_client.get(CHANGELIST)
        assert response.status_code == 200
        return len(queries)

    make_case(hospital_a, submitter_a, "case-0")
    bone_case(hospital_b, submitter_b, "case-1")
    curator_client.get(CHANGELIST)  # caches (content types, session) warm up once
    with_two = queries_for_the_queue()
    for number in range(2, 10):
        bone_case(hospital_a if number % 2 else hospital_b, submitter_a, f"case-{number}")

    assert queries_for_the_queue() == with_two


def test_curator_role_opens_the_queue_without_group_set_up(client, curator):
    client.force_login(curator)  # staff with the curator role, no explicit permissions

    assert client.get(CHANGELIST).status_code == 200


def test_staff_without_the_curator_role_needs_permissions(client, analyst):
    analyst.is_staff = True
    analyst.save()
    client.force_login(analyst)

    assert client.get(CHANGELIST).status_code == 403


# ---------------------------------------------------------------- review actions


def test_verify_action_verifies_and_records_the_curator(
    curator_client, curator, hospital_a, submitter_a
):
    case = make_case(hospital_a, submitter_a, "f-1")

    response = curator_client.post(
        CHANGELIST, {"action": "mark_verified", ACTION_CHECKBOX_NAME: [case.pk], "index": 0}
    )

    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.version) == (ReviewStatus.VERIFIED, 2)
    latest = case.history.first()
    assert (latest.status, latest.history_user) == (ReviewStatus.VERIFIED, curator)
    assert "1 case moved to verified." in shown_messages(response)


def test_verify_action_leaves_a_rejected_case_until_it_is_re_opened(
    curator_client, curator, hospital_a, submitter_a
):
    rejected = make_case(hospital_a, submitter_a, "f-1")
    case_review(case=rejected, status=ReviewStatus.REJECTED, reason="Duplicate", actor=curator)
    waiting = make_case(hospital_a, submitter_a, "f-2")

    response = curator_client.post(
        CHANGELIST,
        {"action": "mark_verified", ACTION_CHECKBOX_NAME: [rejected.pk, waiting.pk], "index": 0},
    )

    rejected.refresh_from_db()
    waiting.refresh_from_db()
    assert (rejected.status, rejected.version) == (ReviewStatus.REJECTED, 2)
    assert waiting.status == ReviewStatus.VERIFIED
    shown = shown_messages(response)
    assert "1 case moved to verified." in shown
    assert any(m.startswith("1 case not moved to verified (f-1)") for m in shown), shown


def test_in_review_action_leaves_cases_already_in_review_alone(
    curator_client, curator, hospital_a, submitter_a
):
    waiting = make_case(hospital_a, submitter_a, "f-1")
    in_review = make_case(hospital_a, submitter_a, "f-2")
    case_review(case=in_review, status=ReviewStatus.IN_REVIEW, actor=curator)

    response = curator_client.post(
        CHANGELIST,
        {"action": "mark_in_review", ACTION_CHECKBOX_NAME: [waiting.pk, in_review.pk], "index": 0},
    )

    assert Case.objects.filter(status=ReviewStatus.IN_REVIEW).count() == 2
    assert in_review.history.count() == 2
    assert shown_messages(response) == ["1 case moved to in review.", "1 case already in review."]


def test_reject_action_asks_for_a_reason_before_rejecting(curator_client, hospital_a, submitter_a):
    case = make_case(hospital_a, submitter_a, "f-1")
    chosen = {"action": "mark_rejected", ACTION_CHECKBOX_NAME: [case.pk]}

    asked = curator_client.post(CHANGELIST, {**chosen, "index": 0})
    blank = curator_client.post(CHANGELIST, {**chosen, "apply": "Reject", "reason": "  "})

    assert asked.status_code == 200
    assert "admin/registry/case/action_form.html" in [t.name for t in asked.templates]
    assert blank.status_code == 200
    assert blank.context["form"].errors["reason"]
    case.refresh_from_db()
    assert (case.status, case.version) == (ReviewStatus.SUBMITTED, 1)


def test_reject_action_with_a_reason_rejects_and_keeps_the_reason(
    curator_client, curator, hospital_a, submitter_a
):
    case = make_case(hospital_a, submitter_a, "f-1")

    response = curator_client.post(
        CHANGELIST,
        {
            "action": "mark_rejected",
            ACTION_CHECKBOX_NAME: [case.pk],
            "apply": "Reject",
            "reason": "Duplicate of a published report",
        },
    )

    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == ReviewStatus.REJECTED
    assert case.rejection_reason == "Duplicate of a published report"
    assert case.history.first().history_user == curator


def test_reject_action_refuses_a_reason_with_an_identifier(curator_client, hospital_a, submitter_a):
    case = make_case(hospital_a, submitter_a, "f-1")

    response = curator_client.post(
        CHANGELIST,
        {
            "action": "mark_rejected",
            ACTION_CHECKBOX_NAME: [case.pk],
            "apply": "Reject",
            "reason": "Ask dr.smith@example.org",
        },
    )

    assert response.status_code == 200
    assert "e-mail" in str(response.context["form"].errors["reason"])
    case.refresh_from_db()
    assert case.status == ReviewStatus.SUBMITTED


# ---------------------------------------------------------------- correcting a case


def test_case_form_edits_exactly_the_payload_fields():
    shown = flatten_fieldsets(CaseAdmin.fieldsets)
    editable = {name for name in shown if name not in CaseAdmin.readonly_fields}
    assert editable == {*CASE_FIELDS, "loaded_version"}


def test_edit_with_metastasis_at_the_primary_site_is_refused(
    curator_client, hospital_a, submitter_a
):
    case = make_case(hospital_a, submitter_a, "f-1")
    data = page_data(curator_client.get(change_url(case)))
    data["metastases-0-site"] = "C50.9"

    response = curator_client.post(change_url(case), data)

    assert response.status_code == 200
    site_errors = inline_formset(response, "metastases").forms[0].errors["site"]
    assert len(site_errors) == 1 and "the primary's own site code" in site_errors[0]
    case.refresh_from_db()
    assert case.version == 1
    assert [m.site_id for m in case.metastases.all()] == ["C44.4"]
    assert case.history.count() == 1


def test_edit_whose_subtype_contradicts_the_receptors_is_refused_on_the_subtype(
    curator_client, hospital_a, submitter_a
):
    case = make_case(hospital_a, submitter_a, "f-1")
    data = page_data(curator_client.get(change_url(case)))
    data.update(er_percent=90, pr_percent=80, her2_ihc="0", ki67_percent=10)
    data["subtype"] = "triple_negative"

    response = curator_client.post(change_url(case), data)

    assert response.status_code == 200
    assert "luminal_a_like" in str(response.context["adminform"].form.errors["subtype"])
    case.refresh_from_db()
    assert case.version == 1


def test_deleting_the_only_metastasis_is_refused(curator_client, hospital_a, submitter_a):
    case = make_case(hospital_a, submitter_a, "f-1", treatments=[])
    data = page_data(curator_client.get(change_url(case)))
    data["metastases-0-DELETE"] = "on"

    response = curator_client.post(change_url(case), data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.non_field_errors()
    assert errors == ["Metastases: A case needs at least one metastasis."]
    assert case.metastases.count() == 1


def test_edit_a_rule_missed_would_let_through_is_stopped_by_the_constraints(
    curator_client, hospital_a, submitter_a, monkeypatch
):
    case = make_case(hospital_a, submitter_a, "f-1")
    data = page_data(curator_client.get(change_url(case)))
    data["age_at_diagnosis"] = 150
    monkeypatch.setattr("registry.admin.case_edit.check_case", lambda *args: None)

    response = curator_client.post(change_url(case), data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.non_field_errors()
    assert "case_age_0_90" in str(errors)
    case.refresh_from_db()
    assert case.age_at_diagnosis == 56


def test_valid_edit_raises_the_version_by_one_and_records_the_curator(
    curator_client, curator, hospital_a, submitter_a
):
    case = make_case(hospital_a, submitter_a, "f-1")
    data = page_data(curator_client.get(change_url(case)))
    data["age_at_diagnosis"] = 57
    data["metastases-0-size_mm"] = 15

    response = curator_client.post(change_url(case), data)

    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.version, case.age_at_diagnosis) == (2, 57)
    assert case.metastases.get().size_mm == 15
    assert case.treatments.get(target="metastasis").metastasis.site_id == "C44.4"
    assert case.history.first().history_user == curator
    assert Metastasis.history.filter(case_id=case.pk, history_user=curator).exists()


def test_edit_derives_the_subtype_from_the_receptors(curator_client, hospital_a, submitter_a):
    case = make_case(hospital_a, submitter_a, "f-1")
    data = page_data(curator_client.get(change_url(case)))
    data.update(er_percent=0, pr_percent=0, her2_ihc="3+")

    curator_client.post(change_url(case), data)

    case.refresh_from_db()
    assert case.subtype_id == "her2_enriched"


def test_saving_an_untouched_case_keeps_its_version(curator_client, hospital_a, submitter_a):
    case = make_case(hospital_a, submitter_a, "f-1")
    data = page_data(curator_client.get(change_url(case)))

    response = curator_client.post(change_url(case), data)

    assert response.status_code == 302
    case.refresh_from_db()
    assert case.version == 1


def test_edit_of_a_case_changed_meanwhile_is_refused(
    curator_client, curator, hospital_a, submitter_a
):
    case = make_case(hospital_a, submitter_a, "f-1")
    data = page_data(curator_client.get(change_url(case)))
    case_review(case=case, status=ReviewStatus.IN_REVIEW, actor=curator)
    data["age_at_diagnosis"] = 57

    response = curator_client.post(change_url(case), data)

    assert response.status_code == 200
    assert "now at version 2" in str(response.context["adminform"].form.errors)
    case.refresh_from_db()
    assert case.age_at_diagnosis == 56


def test_treatment_targets_only_the_cases_own_metastases(curator_client, hospital_a, submitter_a):
    case = make_case(hospital_a, submitter_a, "f-1")
    bone_case(hospital_a, submitter_a, "other-1")

    response = curator_client.get(change_url(case))

    choices = inline_formset(response, "treatments").forms[0].fields["metastasis"].queryset
    assert list(choices) == list(case.metastases.all())


def test_case_page_shows_the_history_of_its_metastases(
    curator_client, curator, hospital_a, submitter_a
):
    case = make_case(hospital_a, submitter_a, "f-1")
    data = page_data(curator_client.get(change_url(case)))
    data["metastases-0-size_mm"] = 15
    curator_client.post(change_url(case), data)

    response = curator_client.get(change_url(case))

    rows = inline_formset(response, "history-historicalmetastasis").queryset
    assert {(row.history_type, row.history_user) for row in rows} == {
        ("+", submitter_a),
        ("-", curator),
        ("+", curator),
    }
    history = curator_client.get(reverse("admin:registry_case_history", args=[case.pk]))
    assert history.status_code == 200
    assert "curator" in history.content.decode()


def test_deleting_a_case_keeps_its_history_attributed(
    curator_client, curator, hospital_a, submitter_a
):
    case = make_case(hospital_a, submitter_a, "f-1")

    response = curator_client.post(
        reverse("admin:registry_case_delete", args=[case.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert not Case.objects.filter(pk=case.pk).exists()
    deleted = Case.history.filter(id=case.pk).first()
    assert (deleted.history_type, deleted.history_user) == ("-", curator)


def test_case_history_cannot_be_reverted(curator_client, hospital_a, submitter_a):
    case = make_case(hospital_a, submitter_a, "f-1")
    version = case.history.first()
    url = reverse("admin:registry_case_simple_history", args=[case.pk, version.history_id])

    assert curator_client.post(url, {}).status_code == 403


# ---------------------------------------------------------------- API tokens


def test_issuing_a_token_shows_it_once_and_stores_only_its_hash(
    curator_client, curator, submitter_a
):
    assert curator_client.get(reverse("admin:registry_apitoken_add")).status_code == 200
    response = curator_client.post(
        reverse("admin:registry_apitoken_add"),
        {"user": submitter_a.pk, "name": "EHR nightly sync", "valid_days": 30},
        follow=True,
    )

    assert response.status_code == 200
    raw = re.search(r"rmr_[\w-]{20,}", response.content.decode())[0]
    token = ApiToken.objects.get()
    assert token.key_hash == hash_token(raw)
    assert raw not in {str(getattr(token, f.attname)) for f in ApiToken._meta.concrete_fields}
    assert (token.user, token.history.first().history_user) == (submitter_a, curator)
    token_page = curator_client.get(reverse("admin:registry_apitoken_change", args=[token.pk]))
    assert raw not in token_page.content.decode()
    assert token.key_hash not in token_page.content.decode()
    assert (
        raw
        not in curator_client.get(reverse("admin:registry_apitoken_changelist")).content.decode()
    )


def test_revoke_action_revokes_the_token(curator_client, curator, submitter_a):
    token, _ = token_issue(user=submitter_a, name="EHR nightly sync")

    curator_client.post(
        reverse("admin:registry_apitoken_changelist"),
        {"action": "revoke_tokens", ACTION_CHECKBOX_NAME: [token.pk], "index": 0},
    )

    token.refresh_from_db()
    assert token.revoked_at is not None
    assert token.history.first().history_user == curator


def test_a_revoked_token_cannot_be_reverted_to_usable(curator_client, curator, submitter_a):
    token, _ = token_issue(user=submitter_a, name="EHR nightly sync")
    usable = token.history.first()
    curator_client.post(
        reverse("admin:registry_apitoken_changelist"),
        {"action": "revoke_tokens", ACTION_CHECKBOX_NAME: [token.pk], "index": 0},
    )
    url = reverse("admin:registry_apitoken_simple_history", args=[token.pk, usable.history_id])

    assert curator_client.post(url, {}).status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is not None


# ---------------------------------------------------------------- vocabularies and people


def test_topography_is_searchable_by_code_and_read_only(curator_client):
    changelist = reverse("admin:registry_topography_changelist")

    found = curator_client.get(changelist, {"q": "C44.4"})

    assert [row.code for row in found.context["cl"].result_list] == ["C44.4"]
    assert curator_client.get(reverse("admin:registry_topography_add")).status_code == 403


def test_vocabulary_releases_show_their_provenance(curator_client):
    response = curator_client.get(reverse("admin:registry_vocabularyrelease_changelist"))

    assert {row.vocabulary for row in response.context["cl"].result_list} >= {
        "topography",
        "morphology",
        "subtypes",
    }


def test_user_page_edits_role_and_institution(curator_client, submitter_a):
    response = curator_client.get(reverse("admin:registry_user_change", args=[submitter_a.pk]))

    assert {"role", "institution"} <= set(response.context["adminform"].form.fields)
    added = curator_client.get(reverse("admin:registry_user_add"))
    assert {"role", "institution"} <= set(added.context["adminform"].form.fields)
