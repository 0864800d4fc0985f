"""Hospital data managers' pages: the case form, withdrawal and CSV import, persona by persona.

The form and the import must say what the API says: the same validation, soft edits
and messages, because they are the API's serializer and services behind a page.
"""

import io

import pytest
from django.utils.html import escape

from api.hospital.case_csv import COLUMNS, TEMPLATE
from registry.models import Case, CaseWithdrawal, ReviewStatus
from tests.api_helpers import client_for
from tests.factories import founding_payload

pytestmark = pytest.mark.django_db

CASES, NEW, IMPORT, TEMPLATE_URL = (
    "/hospital/",
    "/hospital/cases/new/",
    "/hospital/import/",
    "/hospital/cases-template.csv",
)
CHILD_BREAST_CARCINOMA = founding_payload(age_at_diagnosis=12)  # a soft edit: stored, flagged


def form_data(payload: dict, **extra) -> dict:
    """A case JSON as the form posts it: one input per field, rows numbered from 0."""
    data = {key: value for key, value in payload.items() if key not in ("metastases", "treatments")}
    for part in ("metastases", "treatments"):
        rows = payload.get(part) or []
        data[f"{part}-rows"] = len(rows)
        for index, row in enumerate(rows):
            for name, value in row.items():
                if value is None:
                    continue
                if part == "treatments" and name == "metastasis":
                    value += 1  # the form counts metastasis rows from 1
                data[f"{part}-{index}-{name}"] = value
    return {**data, **extra}


def upload(client, text: str | bytes, name="cases.csv"):
    raw = text.encode() if isinstance(text, str) else text
    file = io.BytesIO(raw)
    file.name = name
    return client.post(IMPORT, {"file": file})


# ---------------------------------------------------------------- who may use the pages


@pytest.mark.parametrize("path", [CASES, NEW, IMPORT, TEMPLATE_URL])
def test_anonymous_visitors_are_sent_to_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path}"


@pytest.mark.parametrize("persona", ["analyst", "curator"])
@pytest.mark.parametrize("path", [CASES, NEW, IMPORT, TEMPLATE_URL])
def test_analysts_and_curators_are_refused_the_hospital_pages(client, request, persona, path):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(path).status_code == 403
    assert client.post(NEW, form_data(founding_payload(), local_id="x-1")).status_code == 403
    assert not Case.objects.exists()


def test_an_inactive_institution_uses_no_page(client, submitter_a):
    submitter_a.institution.is_active = False
    submitter_a.institution.save()
    client.force_login(submitter_a)
    assert client.get(CASES).status_code == 403
    assert client.post(NEW, form_data(founding_payload(), local_id="a-9")).status_code == 403


def test_another_hospitals_case_is_not_found_to_read_correct_or_withdraw(
    client, submitter_b, case_of_a
):
    client.force_login(submitter_b)
    path = f"/hospital/cases/{case_of_a.uuid}/"
    changed = form_data(founding_payload(age_at_diagnosis=40), version=case_of_a.version)

    assert client.get(path).status_code == 404
    assert client.post(path, changed).status_code == 404
    assert client.post(f"{path}withdraw/", {"reason": "duplicate"}).status_code == 404
    case_of_a.refresh_from_db()
    assert case_of_a.age_at_diagnosis == 56 and case_of_a.version == 1
    assert not CaseWithdrawal.objects.exists()
    assert case_of_a.local_id not in client.get(CASES).content.decode()


# ---------------------------------------------------------------- the form


def test_a_hospital_enters_the_founding_case_with_rows_and_reads_it_back(client, submitter_a):
    client.force_login(submitter_a)

    response = client.post(NEW, form_data(founding_payload(), local_id="a-0042"))

    case = Case.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/hospital/cases/{case.uuid}/"
    assert (case.institution, case.local_id, case.status) == (
        submitter_a.institution,
        "a-0042",
        ReviewStatus.SUBMITTED,
    )
    # What the API reads back is what the founding case says, rows included.
    api = client_for(submitter_a).get(f"/api/v1/cases/{case.uuid}/").json()
    sent = founding_payload()
    assert [m["site"] for m in api["metastases"]] == ["C44.4"]
    assert api["metastases"][0]["confirmed_by"] == sent["metastases"][0]["confirmed_by"]
    assert [(t["modality"], t["metastasis"]) for t in api["treatments"]] == [
        (t["modality"], t.get("metastasis")) for t in sent["treatments"]
    ]
    assert case.history.first().history_user == submitter_a
    shown = client.get(response["Location"]).content.decode()
    assert "Stored case a-0042 (version 1)." in shown
    assert 'name="metastases-0-site" value="C44.4"' in shown


def test_the_form_refuses_what_the_api_refuses_with_the_apis_words_beside_the_field(
    client, submitter_a
):
    bad = founding_payload()
    bad["metastases"][0]["site"] = "C99.9"
    bad["metastases"][0]["months_from_primary"] = -3
    api = client_for(submitter_a).post("/api/v1/cases/", {**bad, "local_id": "a-1"}, format="json")
    api_errors = {e["field"]: e["message"] for e in api.json()["errors"]}
    client.force_login(submitter_a)

    response = client.post(NEW, form_data(bad, local_id="a-1"))

    assert response.status_code == 400 and not Case.objects.exists()
    page = response.content.decode()
    assert "The case was not saved" in page
    for path, message in api_errors.items():
        part, rest = path.split("[", 1)
        index, name = rest.split("].")
        assert f'id="{part}-{index}-{name}-errors"' in page, path
        assert escape(message) in page
    # The rows sent are shown again, as sent.
    assert 'name="metastases-0-site" value="C99.9"' in page


def test_a_soft_edit_is_stored_and_shown_as_waiting_for_a_curator(client, submitter_a):
    client.force_login(submitter_a)

    response = client.post(NEW, form_data(CHILD_BREAST_CARCINOMA, local_id="a-child"), follow=True)

    case = Case.objects.get()
    assert case.has_open_flags
    flag = case.flags.get()
    assert f"Flagged for a curator ({flag.code}, {flag.field}): {flag.message}" in (
        response.content.decode()
    )
    assert "flag to confirm" in client.get(CASES).content.decode()


def test_adding_and_removing_a_row_writes_nothing(client, submitter_a):
    client.force_login(submitter_a)
    data = form_data(founding_payload(), local_id="a-2")

    added = client.post(NEW, {**data, "add": "metastases"})
    assert added.status_code == 200 and not Case.objects.exists()
    assert added.content.decode().count('<fieldset class="row" id="metastases-') == 2

    removed = client.post(NEW, {**data, "remove": "treatments-0"})
    assert removed.status_code == 200 and not Case.objects.exists()
    assert 'name="treatments-0-modality"' in removed.content.decode()
    assert 'name="treatments-1-modality"' not in removed.content.decode()


def test_a_correction_saves_a_new_version_and_a_stale_form_is_refused(
    client, submitter_a, case_of_a
):
    client.force_login(submitter_a)
    path = f"/hospital/cases/{case_of_a.uuid}/"
    assert 'value="a-0001" readonly' in client.get(path).content.decode()

    saved = client.post(path, form_data(founding_payload(age_at_diagnosis=57), version=1))
    assert saved.status_code == 302
    case_of_a.refresh_from_db()
    assert (case_of_a.age_at_diagnosis, case_of_a.version) == (57, 2)

    # A second tab still at version 1 would silently undo the correction: refused.
    stale = client.post(path, form_data(founding_payload(age_at_diagnosis=60), version=1))
    assert stale.status_code == 400
    assert "it is now at version 2" in stale.content.decode()
    case_of_a.refresh_from_db()
    assert case_of_a.age_at_diagnosis == 57

    # The local id is the URL's: a posted one cannot move the case to another key.
    client.post(path, form_data(founding_payload(), version=2, local_id="a-other"))
    case_of_a.refresh_from_db()
    assert case_of_a.local_id == "a-0001"


# ---------------------------------------------------------------- withdrawal


def test_a_withdrawal_is_a_request_curators_see_and_the_case_stays(
    client, submitter_a, case_of_a, curator, curator_in_admin
):
    hospital = client.__class__()
    hospital.force_login(submitter_a)
    path = f"/hospital/cases/{case_of_a.uuid}/withdraw/"

    assert hospital.get(path).status_code == 405
    refused = hospital.post(path, {"reason": "call Dr Smith at 555-123-4567"}, follow=True)
    assert "Not withdrawn" in refused.content.decode() and not CaseWithdrawal.objects.exists()
    assert "Not withdrawn" in hospital.post(path, {"reason": " "}, follow=True).content.decode()

    done = hospital.post(path, {"reason": "a duplicate of a-0002"}, follow=True)

    withdrawal = CaseWithdrawal.objects.get()
    assert (withdrawal.case, withdrawal.requested_by) == (case_of_a, submitter_a)
    assert "a curator will delete it" in done.content.decode()
    assert Case.objects.filter(pk=case_of_a.pk).exists()
    queue = curator_in_admin.get("/admin/registry/casewithdrawal/").content.decode()
    assert "a duplicate of a-0002" in queue and "a-0001" in queue
    # The curator grants it by deleting the case (the API's DELETE); the request goes with it.
    deleted = client_for(curator).delete(f"/api/v1/cases/{case_of_a.uuid}/")
    assert deleted.status_code == 204
    assert not CaseWithdrawal.objects.exists()


# ---------------------------------------------------------------- CSV


def test_the_template_is_the_committed_file_with_every_column(client, submitter_a):
    client.force_login(submitter_a)
    response = client.get(TEMPLATE_URL)

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = response.content.decode()
    assert text == TEMPLATE.read_text()
    assert text.splitlines()[0].split(",") == COLUMNS


def test_the_template_imports_as_the_founding_case_and_twice_changes_nothing(client, submitter_a):
    client.force_login(submitter_a)

    first = upload(client, TEMPLATE.read_text())
    again = upload(client, TEMPLATE.read_text())

    assert first.status_code == 200
    assert "1 created, 0 updated, 0 unchanged, 0 with errors" in first.content.decode()
    assert "0 created, 0 updated, 1 unchanged, 0 with errors" in again.content.decode()
    case = Case.objects.get()
    assert (case.institution, case.local_id) == (submitter_a.institution, "hosp-000123")
    assert case.metastases.get().site_id == "C44.4"
    assert sorted(case.metastases.get().confirmed_by) == ["histology", "ihc"]
    surgery = case.treatments.get(modality="surgery")
    assert surgery.metastasis == case.metastases.get()


def test_errors_name_the_line_and_column_and_the_good_cases_are_stored(client, submitter_a):
    header = ",".join(COLUMNS)

    def line(**values):
        return ",".join(str(values.get(name, "")) for name in COLUMNS)

    text = "\n".join(
        [
            header,
            line(local_id="good-1", row="case", primary_site="C50.9", primary_morphology="8500/3"),
            line(local_id="good-1", row="metastasis", metastasis_site="C44.4"),
            line(local_id="bad-1", row="case", primary_site="C50.9", primary_morphology="8500/3"),
            line(local_id="bad-1", row="metastasis", metastasis_site="C41.2"),
            line(local_id="bad-1", row="metastasis", metastasis_site="C99.9"),  # line 6
            line(local_id="orphan", row="metastasis", metastasis_site="C44.4"),  # line 7
            line(local_id="orphan", row="lesion"),  # line 8
        ]
    )
    client.force_login(submitter_a)

    response = upload(client, text)

    page = response.content.decode()
    assert [c.local_id for c in Case.objects.all()] == ["good-1"]
    api = client_for(submitter_a).post(
        "/api/v1/cases/batch/",
        {
            "cases": [
                {
                    "local_id": "x",
                    "primary_site": "C50.9",
                    "primary_morphology": "8500/3",
                    "metastases": [{"site": "C41.2"}, {"site": "C99.9"}],
                }
            ]
        },
        format="json",
    )
    [message] = [e["message"] for e in api.json()["results"][0]["errors"]]
    assert escape(f"line 6, column metastasis_site: {message}") in page
    assert "line 7, column row: &#x27;orphan&#x27; has no case line (row = case)." in page
    assert "line 8, column row: row is case, metastasis or treatment." in page
    assert "1 created, 0 updated, 0 unchanged, 2 with errors (not stored)" in page


def test_excel_files_import_with_a_bom_and_semicolons(client, submitter_a):
    semicolons = TEMPLATE.read_text().replace(",", ";").replace("histology;ihc", "histology")
    client.force_login(submitter_a)

    response = upload(client, "\ufeff".encode() + semicolons.encode())

    assert "1 created" in response.content.decode()


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"", "The file is empty"),
        (b"local_id,row,name\n", "unknown columns name"),
        (b"sex,age_at_diagnosis\n", "missing columns local_id, row"),
        (b"local_id,row\n", "a header but no case lines"),
        ("local_id,row\nA,case\n".encode("utf-16"), "not UTF-8"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_whole_and_says_why(
    client, submitter_a, content, says
):
    client.force_login(submitter_a)
    response = upload(client, content)
    assert response.status_code == 400
    assert says in response.content.decode()
    assert not Case.objects.exists()


def test_a_file_past_the_batch_limit_is_refused_whole(client, submitter_a):
    lines = [",".join(COLUMNS)] + [f"k-{n},case" + "," * (len(COLUMNS) - 2) for n in range(1001)]
    client.force_login(submitter_a)
    response = upload(client, "\n".join(lines))
    assert response.status_code == 400
    assert "A batch holds at most 1000 cases" in response.content.decode()
    assert not Case.objects.exists()


def test_the_documented_template_is_the_committed_one():
    page = (TEMPLATE.parents[1] / "docs" / "hospital-data-managers.md").read_text()
    documented = page.split("```csv\n", 1)[1].split("```", 1)[0]
    assert documented == TEMPLATE.read_text()


# ---------------------------------------------------------------- attacks


def test_a_form_posted_from_another_site_is_refused_without_its_csrf_token(submitter_a):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(submitter_a)

    response = browser.post(NEW, form_data(founding_payload(), local_id="a-csrf"))

    assert response.status_code == 403 and not Case.objects.exists()


def test_a_huge_row_count_is_cut_to_the_apis_limit_and_answered_with_its_message(
    client, submitter_a
):
    many = founding_payload(metastases=[{"site": "C44.4"}] * 25, treatments=[])
    data = form_data(many, local_id="a-many")
    data["metastases-rows"] = 10**12
    client.force_login(submitter_a)

    response = client.post(NEW, data)

    assert response.status_code == 400 and not Case.objects.exists()
    assert "Ensure this field has no more than 20 elements." in response.content.decode()
    # Only the API's limit and one more row are read and drawn back.
    assert response.content.decode().count('<fieldset class="row" id="metastases-') == 21


def test_a_file_cannot_name_another_institution(client, submitter_a, hospital_b):
    text = TEMPLATE.read_text().replace("local_id,row,", "institution,local_id,row,", 1)
    client.force_login(submitter_a)
    response = upload(client, text)
    assert response.status_code == 400
    assert "unknown columns institution" in response.content.decode()
    assert not Case.objects.exists()


def test_another_hospitals_key_in_a_file_makes_a_case_of_ones_own(client, submitter_b, case_of_a):
    text = TEMPLATE.read_text().replace("hosp-000123", case_of_a.local_id)
    client.force_login(submitter_b)

    response = upload(client, text)

    assert "1 created" in response.content.decode()
    case_of_a.refresh_from_db()
    assert case_of_a.version == 1 and case_of_a.institution.code == "hosp-a"
    assert Case.objects.get(institution=submitter_b.institution).local_id == case_of_a.local_id


def test_spelling_variants_of_row_kinds_are_read(client, submitter_a):
    text = (
        TEMPLATE.read_text()
        .replace("hosp-000123,case,", "hosp-000123,Case,")
        .replace("hosp-000123,metastasis,", "hosp-000123,METASTASIS,")
    )
    client.force_login(submitter_a)
    assert "1 created" in upload(client, text).content.decode()


@pytest.mark.parametrize("persona", ["analyst", "curator", "submitter_b"])
def test_only_the_cases_own_hospital_may_ask_to_withdraw_it(request, case_of_a, persona):
    from django.core.exceptions import PermissionDenied

    from registry.services.withdrawals import case_request_withdrawal

    with pytest.raises(PermissionDenied):
        case_request_withdrawal(
            case=case_of_a, reason="duplicate", actor=request.getfixturevalue(persona)
        )
    assert not CaseWithdrawal.objects.exists()
