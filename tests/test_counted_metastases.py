"""The counted metastases stay the join of the base tables, whatever writes them.

`registry_countedmetastasis` is kept by PostgreSQL triggers (migration 0003); the
statistics trust it. After every kind of write (services, batches, reviews,
deletes, COPY, plain ORM updates, TRUNCATE) its rows must equal what the join of
cases and metastases says, with exactly one first row per case.
"""

import uuid

import pytest
from django.db import connection
from django.db.models import Min

from registry.models import COUNTED_CASE_FIELDS, Case, CountedMetastasis, Metastasis
from registry.services.batch import BatchItem, case_batch_submit
from registry.services.cases import case_create, case_delete, case_review, case_update
from registry.services.synthetic import synthetic_cases_delete, synthetic_cases_load
from tests.factories import founding_payload

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

CASE_COLUMNS = [
    f"{name}_id"
    if name in ("institution", "primary_site", "primary_morphology", "subtype")
    else name
    for name in COUNTED_CASE_FIELDS
]


def joined_rows() -> set[tuple]:
    """What the table must hold, from the base tables."""
    first = {row["case_id"]: row["first"] for row in _first_metastases()}
    cases = {case["id"]: case for case in Case.objects.values("id", *CASE_COLUMNS)}
    return {
        (
            m.pk,
            m.case_id,
            m.site_id,
            m.pk == first[m.case_id],
            *(cases[m.case_id][column] for column in CASE_COLUMNS),
        )
        for m in Metastasis.objects.all()
    }


def _first_metastases():
    return Metastasis.objects.values("case_id").annotate(first=Min("pk")).order_by()


def counted_rows() -> set[tuple]:
    columns = ["metastasis_id", "case_id", "site_id", "first_of_case", *CASE_COLUMNS]
    return set(CountedMetastasis.objects.values_list(*columns))


def assert_in_step() -> None:
    assert counted_rows() == joined_rows()
    assert CountedMetastasis.objects.count() == Metastasis.objects.count()


def two_sites(**changes) -> dict:
    """The founding case with a second metastasis, in the lung."""
    payload = founding_payload(**changes)
    lung = {**payload["metastases"][0], "site": "C34.9", "misdiagnosis": "none"}
    lung.pop("misdiagnosis_text", None)
    payload["metastases"] = [*payload["metastases"], lung]
    return payload


@pytest.fixture
def stored(hospital_a, submitter_a):
    cases = [
        case_create(institution=hospital_a, local_id=f"c-{n}", payload=two_sites(), actor=None)
        for n in range(3)
    ]
    assert_in_step()
    return cases


def test_created_cases_have_a_row_per_metastasis_and_one_first(stored):
    assert CountedMetastasis.objects.filter(first_of_case=True).count() == len(stored)
    assert CountedMetastasis.objects.count() == 2 * len(stored)


def test_a_review_passes_the_new_status_on(stored, curator):
    case_review(case=stored[0], status="verified", actor=curator)
    assert set(
        CountedMetastasis.objects.filter(case_id=stored[0].pk).values_list("status", flat=True)
    ) == {"verified"}
    assert_in_step()


def test_an_update_replaces_the_rows_and_the_case_attributes(stored, submitter_a):
    changed = founding_payload(sex="male", age_at_diagnosis=70, year_of_diagnosis=2001)
    case_update(case=stored[1], payload=changed, actor=submitter_a)
    assert CountedMetastasis.objects.filter(case_id=stored[1].pk).count() == 1
    assert_in_step()


def test_a_deleted_case_leaves_no_rows(stored, curator):
    case_delete(case=stored[2], actor=curator)
    assert not CountedMetastasis.objects.filter(case_id=stored[2].pk).exists()
    assert_in_step()


def test_a_batch_of_new_and_changed_cases(stored, hospital_a, submitter_a):
    items = [BatchItem(f"c-{n}", founding_payload(age_at_diagnosis=40 + n)) for n in range(2)]
    items += [BatchItem(f"new-{n}", two_sites()) for n in range(5)]
    results = case_batch_submit(institution=hospital_a, items=items, actor=submitter_a)
    assert [r.result for r in results] == ["updated"] * 2 + ["created"] * 5
    assert_in_step()


def test_losing_the_first_metastasis_makes_the_next_one_first(stored):
    first = Metastasis.objects.filter(case=stored[0]).order_by("pk").first()
    first.delete()
    remaining = CountedMetastasis.objects.get(case_id=stored[0].pk)
    assert remaining.first_of_case
    assert_in_step()


def test_plain_orm_updates_of_metastases_and_cases_are_followed(stored):
    Metastasis.objects.filter(case=stored[0]).update(site_id="C71.9")
    Case.objects.filter(pk__in=[c.pk for c in stored]).update(sex="male", subtype_id=None)
    Metastasis.objects.create(case=stored[1], site_id="C40.9")
    assert_in_step()


def test_metastases_inserted_before_their_case_are_counted_when_it_arrives(stored):
    with connection.cursor() as cursor:  # foreign keys are checked at commit
        cursor.execute("SELECT nextval(pg_get_serial_sequence('registry_case', 'id'))")
        (case_id,) = cursor.fetchone()
    Metastasis.objects.create(case_id=case_id, site_id="C44.4")
    assert not CountedMetastasis.objects.filter(case_id=case_id).exists()
    late = Case.objects.get(pk=stored[0].pk)
    late.pk, late.uuid, late.local_id = case_id, uuid.uuid4(), "late"
    late.save(force_insert=True)
    assert CountedMetastasis.objects.get(case_id=case_id).first_of_case
    assert_in_step()


def test_a_synthetic_load_by_copy_and_its_reset(db):
    synthetic_cases_load(count=300, seed=3, workers=1)
    assert CountedMetastasis.objects.count() == Metastasis.objects.count() > 300
    assert_in_step()
    synthetic_cases_delete()
    assert not CountedMetastasis.objects.exists()


def test_truncating_the_metastases_empties_the_table(stored):
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # TRUNCATE waits for no check
        cursor.execute("TRUNCATE registry_treatment, registry_metastasis")
    assert not CountedMetastasis.objects.exists()
