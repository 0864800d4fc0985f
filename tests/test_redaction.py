"""Redaction: a slipped identifier leaves every table, and the event is kept without it.

"Every table" is checked literally: each table of the database is searched, row
by row as text, for the old value after the redaction.
"""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.urls import reverse

from registry.models import Case, Metastasis, Redaction, ReviewStatus
from registry.services.cases import case_delete, case_review, case_update
from registry.services.redaction import REDACTED_TEXT, case_redact, redacted_local_id
from tests.api_helpers import client_for
from tests.factories import founding_payload

pytestmark = pytest.mark.postgres

CASES_URL = "/api/v1/cases/"
# Values the identifier screen lets through, as a slip would be.
SLIPPED_KEY = "kqzvw-4471"
SLIPPED_TEXT = "First read as a cyst by the qzxvw clinic"
LATER_TEXT = "Later read as a qzxvw granuloma"
SLIPPED_REASON = "Duplicate of the qzxvw submission"


def tables_holding(value: str) -> list[str]:
    """Every table of the database with a row whose text holds `value`."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT quote_ident(table_name) FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        )
        tables = [name for (name,) in cursor.fetchall()]
        holding = []
        for table in tables:
            cursor.execute(f"SELECT 1 FROM {table} t WHERE t::text LIKE %s LIMIT 1", [f"%{value}%"])
            if cursor.fetchone():
                holding.append(table)
    return holding


def with_text(text: str) -> dict:
    payload = founding_payload()
    payload["metastases"][0]["misdiagnosis_text"] = text
    return payload


@pytest.fixture
def submitter_client(submitter_a):
    return client_for(submitter_a)


@pytest.fixture
def slipped_case(hospital_a, submitter_a, submitter_client, curator) -> Case:
    """A case whose key and free text slipped through, changed a few times, and logged."""
    client = submitter_client
    created = client.post(
        CASES_URL,
        {**with_text(SLIPPED_TEXT), "local_id": SLIPPED_KEY},
        format="json",
        HTTP_IDEMPOTENCY_KEY="first-send",
    )
    assert created.status_code == 201
    case = Case.objects.get(uuid=created.json()["uuid"])
    # A clash quotes the key in an error message kept for idempotent replay.
    clash = client.post(
        CASES_URL,
        {**with_text(SLIPPED_TEXT), "local_id": SLIPPED_KEY},
        format="json",
        HTTP_IDEMPOTENCY_KEY="second-send",
    )
    assert clash.status_code == 400 and SLIPPED_KEY in clash.content.decode()
    case_update(case=case, payload=with_text(LATER_TEXT), actor=submitter_a)
    case = case_review(
        case=case, status=ReviewStatus.REJECTED, reason=SLIPPED_REASON, actor=curator
    )
    LogEntry.objects.create(
        user=curator,
        content_type=ContentType.objects.get_for_model(Case),
        object_id=str(case.pk),
        object_repr=str(case),
        action_flag=CHANGE,
        change_message="[]",
    )
    for value in (SLIPPED_KEY, SLIPPED_TEXT, LATER_TEXT, SLIPPED_REASON):
        assert tables_holding(value), value  # the test can fail: the values are there
    return case


ALL_FIELDS = ["local_id", "misdiagnosis_text", "rejection_reason"]


def test_a_redaction_removes_the_values_from_every_table(slipped_case, curator):
    case_redact(case=slipped_case, fields=ALL_FIELDS, actor=curator)
    for value in (SLIPPED_KEY, SLIPPED_TEXT, LATER_TEXT, SLIPPED_REASON):
        assert tables_holding(value) == [], value


def test_a_redaction_leaves_marks_in_the_case_and_its_history(slipped_case, curator):
    case = case_redact(case=slipped_case, fields=ALL_FIELDS, actor=curator)
    key = redacted_local_id(case.uuid)
    assert (case.local_id, case.rejection_reason) == (key, REDACTED_TEXT)
    assert case.metastases.get().misdiagnosis_text == REDACTED_TEXT
    assert set(Case.history.filter(id=case.pk).values_list("local_id", flat=True)) == {key}
    texts = Metastasis.history.filter(case_id=case.pk).values_list("misdiagnosis_text", flat=True)
    assert set(texts) == {REDACTED_TEXT}


def test_a_redaction_of_one_field_leaves_the_others(slipped_case, curator):
    case_redact(case=slipped_case, fields=["misdiagnosis_text"], actor=curator)
    assert tables_holding(SLIPPED_TEXT) == [] and tables_holding(LATER_TEXT) == []
    assert tables_holding(SLIPPED_KEY) != []
    assert Case.objects.get(pk=slipped_case.pk).local_id == SLIPPED_KEY


def test_a_redaction_is_recorded_with_who_when_and_which_fields(slipped_case, curator):
    case = case_redact(
        case=slipped_case, fields=["local_id"], reason="Key was a record number", actor=curator
    )
    record = Redaction.objects.get()
    assert (record.case, record.case_uuid, record.fields) == (case, case.uuid, ["local_id"])
    assert (record.redacted_by, record.reason) == (curator, "Key was a record number")
    assert record.rows_rewritten > 0 and record.redacted_at is not None
    latest = case.history.latest()
    assert (latest.history_user, latest.history_change_reason) == (curator, "Redacted: local_id")
    assert case.version == slipped_case.version + 1


def test_the_redacted_key_no_longer_finds_the_case(slipped_case, submitter_a, curator):
    case_redact(case=slipped_case, fields=["local_id"], actor=curator)
    response = client_for(submitter_a).get(f"{CASES_URL}by-local-id/{SLIPPED_KEY}/")
    assert response.status_code == 404


def test_a_replayed_reply_answers_with_the_redacted_values(slipped_case, submitter_client, curator):
    case_redact(case=slipped_case, fields=ALL_FIELDS, actor=curator)
    replay = submitter_client.post(
        CASES_URL,
        {**with_text(SLIPPED_TEXT), "local_id": SLIPPED_KEY},
        format="json",
        HTTP_IDEMPOTENCY_KEY="first-send",
    )
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert replay.json()["local_id"] == redacted_local_id(slipped_case.uuid)
    assert SLIPPED_KEY not in replay.content.decode()
    assert SLIPPED_TEXT not in replay.content.decode()


# ---------------------------------------------------------------- deleting a case


def test_deleting_a_case_leaves_none_of_its_text_or_key(slipped_case, curator):
    pk, case_uuid = slipped_case.pk, slipped_case.uuid
    case_delete(case=slipped_case, actor=curator)
    for value in (SLIPPED_KEY, SLIPPED_TEXT, LATER_TEXT, SLIPPED_REASON):
        assert tables_holding(value) == [], value
    # What stays: the coded record and who deleted it, and the redaction by UUID.
    deletion = Case.history.get(id=pk, history_type="-")
    assert (deletion.history_user, deletion.primary_site_id) == (curator, "C50.9")
    record = Redaction.objects.get(case_uuid=case_uuid)
    assert (record.case, record.reason, record.redacted_by) == (None, "case deleted", curator)


def test_a_redaction_record_outlives_its_case(slipped_case, curator):
    case_redact(case=slipped_case, fields=["local_id"], actor=curator)
    case_delete(case=Case.objects.get(pk=slipped_case.pk), actor=curator)
    assert Redaction.objects.filter(case_uuid=slipped_case.uuid).count() == 2


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("fields", "reason", "field"),
    [
        pytest.param([], "", "fields", id="no-field"),
        pytest.param(["primary_site"], "", "fields", id="not-redactable"),
        pytest.param(["local_id"], "It was jane.doe@example.org", "reason", id="value-in-reason"),
    ],
)
def test_a_redaction_names_redactable_fields_and_no_value(
    slipped_case, curator, fields, reason, field
):
    with pytest.raises(ValidationError) as refused:
        case_redact(case=slipped_case, fields=fields, reason=reason, actor=curator)
    assert list(refused.value.message_dict) == [field]
    assert not Redaction.objects.exists()


def test_only_curators_redact(slipped_case, submitter_a):
    with pytest.raises(PermissionDenied):
        case_redact(case=slipped_case, fields=["local_id"], actor=submitter_a)
    assert tables_holding(SLIPPED_KEY)


# ---------------------------------------------------------------- the API and the admin


def redactions_url(case: Case) -> str:
    return f"{CASES_URL}{case.uuid}/redactions/"


@pytest.mark.parametrize(
    ("persona", "status"),
    [("submitter_a", 403), ("submitter_b", 403), ("analyst", 403), ("curator", 200)],
)
def test_only_curators_may_post_a_redaction(request, slipped_case, persona, status):
    response = client_for(request.getfixturevalue(persona)).post(
        redactions_url(slipped_case), {"fields": ["misdiagnosis_text"]}, format="json"
    )
    assert response.status_code == status
    assert bool(tables_holding(SLIPPED_TEXT)) is (status != 200)


def test_a_redaction_answers_with_the_redacted_case(slipped_case, curator):
    response = client_for(curator).post(
        redactions_url(slipped_case),
        {"fields": ["local_id", "misdiagnosis_text"], "reason": "Slipped identifiers"},
        format="json",
    )
    body = response.json()
    assert body["local_id"] == redacted_local_id(slipped_case.uuid)
    assert body["metastases"][0]["misdiagnosis_text"] == REDACTED_TEXT
    assert SLIPPED_KEY not in response.content.decode()


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"fields": ["status"]}, id="not-redactable"),
        pytest.param({"fields": []}, id="empty"),
        pytest.param({"fields": "local_id"}, id="not-a-list"),
        pytest.param({"fields": ["local_id"], "old_value": SLIPPED_KEY}, id="extra-field"),
    ],
)
def test_a_bad_redaction_is_a_400_problem(slipped_case, curator, body):
    response = client_for(curator).post(redactions_url(slipped_case), body, format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert tables_holding(SLIPPED_KEY)


def test_the_admin_redacts_the_selected_cases(curator_in_admin, slipped_case):
    changelist = reverse("admin:registry_case_changelist")
    chosen = {"action": "redact_text", ACTION_CHECKBOX_NAME: [slipped_case.pk]}

    asked = curator_in_admin.post(changelist, chosen)
    assert asked.status_code == 200 and tables_holding(SLIPPED_KEY)

    curator_in_admin.post(
        changelist, {**chosen, "apply": "1", "fields": ALL_FIELDS, "reason": "Slip"}
    )

    for value in (SLIPPED_KEY, SLIPPED_TEXT, LATER_TEXT, SLIPPED_REASON):
        assert tables_holding(value) == [], value
    page = curator_in_admin.get(reverse("admin:registry_case_change", args=[slipped_case.pk]))
    assert "Slip" in page.content.decode()  # the redaction shows on the case page
