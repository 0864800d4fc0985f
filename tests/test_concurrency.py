"""Parallel clients against a real PostgreSQL: one local_id, one case, whatever the timing.

Each thread has its own database connection (Django's are per thread) and its
own HTTP client; a barrier releases them together. These tests commit for real
(`transaction=True`), so the tables are flushed after each one and the
vocabularies are loaded again for the next.
"""

import threading
import time

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from registry.models import Case
from registry.services.batch import BatchItem, case_batch_submit
from registry.services.cases import Outcome, case_create
from registry.services.tokens import token_issue
from tests.factories import founding_payload, load_vocabularies

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 8
CASES_URL = "/api/v1/cases/"


@pytest.fixture(scope="module", autouse=True)
def _vocabularies_back_for_the_next_module(django_db_blocker):
    """The last test's flush empties the vocabulary tables that other modules rely on."""
    yield
    with django_db_blocker.unblock():
        load_vocabularies()


@pytest.fixture(autouse=True)
def vocabularies(transactional_db):
    load_vocabularies()  # the previous test's flush emptied them


def in_parallel(work, count: int = THREADS) -> list:
    """Run `work(n)` in `count` threads released at once; their results (or errors) in order."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(n: int) -> None:
        try:
            barrier.wait()
            results[n] = work(n)
        except Exception as error:  # reported by the test, not lost in the thread
            results[n] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def bearer_clients(user, count: int = THREADS) -> list[APIClient]:
    clients = []
    for _ in range(count):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_issue(user=user, name='t')[1]}")
        clients.append(client)
    return clients


# ---------------------------------------------------------------- PUT by-local-id


def test_parallel_puts_of_one_local_id_make_one_case(submitter_a):
    clients = bearer_clients(submitter_a)
    url = f"{CASES_URL}by-local-id/ehr-1/"
    responses = in_parallel(lambda n: clients[n].put(url, founding_payload(), format="json"))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * (THREADS - 1) + [201]
    assert len({r.json()["uuid"] for r in responses}) == 1
    case = Case.objects.get()
    assert (case.local_id, case.version, case.history.count()) == ("ehr-1", 1, 1)


def test_parallel_puts_of_different_content_serialise_into_versions(submitter_a):
    clients = bearer_clients(submitter_a)
    url = f"{CASES_URL}by-local-id/ehr-1/"
    responses = in_parallel(
        lambda n: clients[n].put(url, founding_payload(age_at_diagnosis=50 + n), format="json")
    )
    assert sorted(r.status_code for r in responses) == [200] * (THREADS - 1) + [201]
    case = Case.objects.get()
    assert case.version == THREADS  # each writer saw the previous version under the row lock
    assert case.history.count() == THREADS
    assert case.metastases.count() == 1
    assert case.treatments.count() == 2


# ---------------------------------------------------------------- Idempotency-Key


def test_parallel_posts_with_one_idempotency_key_make_one_case(submitter_a):
    client = bearer_clients(submitter_a, count=1)[0]  # one token: keys are per token
    body = {**founding_payload(), "local_id": "ehr-1"}
    responses = in_parallel(
        lambda n: client.post(
            CASES_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="a7c1e2d4-one-key"
        )
    )
    assert {r.status_code for r in responses} <= {201, 409}
    created = [r for r in responses if r.status_code == 201]
    assert len({r.json()["uuid"] for r in created}) == 1
    assert sum(not r.has_header("Idempotent-Replayed") for r in created) == 1
    assert Case.objects.count() == 1


# ---------------------------------------------------------------- batches


def test_parallel_batches_sharing_local_ids_make_one_case_each(hospital_a, submitter_a):
    local_ids = [f"b-{n}" for n in range(20)]

    def submit(n: int):
        # Each batch holds every key, in its own order.
        order = local_ids[n:] + local_ids[:n]
        items = [BatchItem(local_id, founding_payload()) for local_id in order]
        return case_batch_submit(institution=hospital_a, items=items, actor=submitter_a)

    results = in_parallel(submit, count=4)
    assert not [r for r in results if isinstance(r, Exception)], results
    outcomes = [item.outcome for batch in results for item in batch]
    assert None not in outcomes  # no error items
    assert outcomes.count(Outcome.CREATED) == len(local_ids)
    assert sorted(Case.objects.values_list("local_id", flat=True)) == sorted(local_ids)
    assert Case.history.count() == len(local_ids)


def test_a_batch_that_meets_a_parallel_insert_falls_back_item_by_item(hospital_a, submitter_a):
    """Another writer holds a new 'b-1' uncommitted: the batch's bulk insert waits on it,
    then conflicts, rolls back to its savepoint and writes every item alone, so b-1
    becomes an update of the other writer's case and b-0 is still created."""
    inserted, release, results = threading.Event(), threading.Event(), []

    def hold_b1():
        with transaction.atomic():
            payload = founding_payload(age_at_diagnosis=40)
            case_create(institution=hospital_a, local_id="b-1", payload=payload, actor=None)
            inserted.set()
            release.wait(timeout=30)

    def submit():
        items = [
            BatchItem("b-0", founding_payload()),
            BatchItem("b-1", founding_payload()),
            BatchItem("b-2", {"sex": "female"}),  # invalid
        ]
        with CaptureQueriesContext(connection) as queries:
            batch = case_batch_submit(institution=hospital_a, items=items, actor=submitter_a)
        results.append((batch, [q["sql"] for q in queries]))

    holder, batcher = _thread(hold_b1), _thread(submit)
    holder.start()
    assert inserted.wait(timeout=30)
    batcher.start()
    time.sleep(0.5)  # the batch reaches its insert and waits for b-1's index entry
    release.set()
    holder.join(timeout=30)
    batcher.join(timeout=30)

    [(batch, sql)] = results
    assert [(r.local_id, r.result) for r in batch] == [
        ("b-0", "created"),
        ("b-1", "updated"),
        ("b-2", "error"),
    ]
    assert any(statement.startswith("ROLLBACK TO SAVEPOINT") for statement in sql)
    assert sorted(Case.objects.values_list("local_id", flat=True)) == ["b-0", "b-1"]
    b1 = Case.objects.get(local_id="b-1")
    assert (b1.age_at_diagnosis, b1.version) == (56, 2)
    assert b1.history.first().history_user == submitter_a


def _thread(work) -> threading.Thread:
    def run():
        try:
            work()
        finally:
            connection.close()

    return threading.Thread(target=run)
