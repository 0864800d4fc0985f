"""The bulk write path (`registry.services.case_store.store_cases`) writes what the ORM would.

On PostgreSQL the services insert cases, children and their history rows with one
`INSERT ... SELECT FROM UNNEST` per table (`registry.services.bulk_rows`), and
answer a new case from memory rather than reading it back. These tests hold both
shortcuts to the slow, obvious paths: the read-back and simple_history's own
`bulk_history_create`.
"""

import pytest
from django.utils import timezone

from registry.models import Case, Metastasis, Treatment
from registry.services.batch import BatchItem, case_batch_submit
from registry.services.bulk_rows import insert_history
from registry.synthetic import generate_cases
from tests.api_helpers import client_for
from tests.factories import founding_payload

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _synthetic_payloads(count: int, prefix: str) -> list[dict]:
    payloads = []
    for synthetic in generate_cases(7, 0, count, prefix):
        payload = synthetic.payload()
        payload.pop("institution", None)
        payloads.append(payload)
    return payloads


def test_the_answer_to_a_created_case_equals_reading_it_back(submitter_a):
    client = client_for(submitter_a)
    payloads = [founding_payload(local_id="founding-1"), *_synthetic_payloads(40, "api-")]
    for body in payloads:
        created = client.post("/api/v1/cases/", body, format="json")
        assert created.status_code == 201, created.json()
        read = client.get(created["Location"])
        assert (created.json(), created["ETag"]) == (read.json(), read["ETag"])

        local_id = f"put-{body['local_id']}"
        put = client.put(
            f"/api/v1/cases/by-local-id/{local_id}/", {**body, "local_id": local_id}, format="json"
        )
        assert put.status_code == 201, put.json()
        read = client.get(put["Location"])
        assert (put.json(), put["ETag"]) == (read.json(), read["ETag"])


def _history_values(model, rows) -> list[dict]:
    """Each history row's tracked values, user, reason and type, in row order."""
    history = model.history.model
    names = [field.attname for field in history.tracked_fields]
    names += ["history_user_id", "history_change_reason", "history_type"]
    by_id = {row.id: row for row in history.objects.filter(id__in=[row.pk for row in rows])}
    return [{name: getattr(by_id[row.pk], name) for name in names} for row in rows]


@pytest.mark.parametrize(("history_type", "reason"), [("+", None), ("~", ""), ("~", "fixed")])
@pytest.mark.parametrize("model", [Case, Metastasis, Treatment])
def test_bulk_history_rows_equal_simple_historys_own(
    hospital_a, submitter_a, curator, model, history_type, reason
):
    items = [BatchItem(p.pop("local_id"), p) for p in _synthetic_payloads(30, "h-")]
    results = case_batch_submit(institution=hospital_a, items=items, actor=submitter_a)
    assert [r.errors for r in results if r.errors] == []
    rows = list(model.objects.order_by("pk"))
    model.history.all().delete()
    now = timezone.now()

    model.history.bulk_history_create(
        rows,
        update=history_type == "~",
        default_user=curator,
        default_date=now,
        default_change_reason=reason,
    )
    expected = _history_values(model, rows)
    model.history.all().delete()
    insert_history(model, rows, history_type, curator, now, reason=reason)

    assert _history_values(model, rows) == expected
    assert set(model.history.values_list("history_date", flat=True)) == {now}


def test_a_batch_and_its_update_leave_history_matching_the_stored_rows(hospital_a, submitter_a):
    items = [BatchItem(p.pop("local_id"), p) for p in _synthetic_payloads(30, "b-")]
    case_batch_submit(institution=hospital_a, items=items, actor=submitter_a)
    changed = [BatchItem(i.local_id, {**i.payload, "age_at_diagnosis": 33}) for i in items]
    results = case_batch_submit(institution=hospital_a, items=changed, actor=submitter_a)
    assert {r.outcome.value for r in results} == {"updated"}

    for model in (Case, Metastasis, Treatment):
        history = model.history.model
        for stored in model.objects.all():
            newest = history.objects.filter(id=stored.pk).order_by("-history_id").first()
            assert newest.history_user_id == submitter_a.pk
            assert {f.attname: getattr(newest, f.attname) for f in history.tracked_fields} == {
                f.attname: getattr(stored, f.attname) for f in history.tracked_fields
            }
