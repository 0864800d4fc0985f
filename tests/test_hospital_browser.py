"""A hospital data manager in a real browser: the case form with its rows, a correction,
a withdrawal, and a CSV import from the template.

Headless Chromium with Playwright against the live server (tests/browser_helpers.py),
skipped where either is missing. Screenshots go to a temporary folder;
`DASHBOARD_SCREENSHOTS=docs` refreshes the ones in docs/.
"""

import os
from pathlib import Path

import pytest

from registry.models import Case, CaseWithdrawal, Institution, Role
from tests.browser_helpers import BROWSER_MARKS, PASSWORD
from tests.factories import UserFactory, load_vocabularies

pytestmark = BROWSER_MARKS


def data_manager(live_server, settings, browser):
    load_vocabularies()
    hospital = Institution.objects.create(code="hosp-a", name="Hospital A", country="FR")
    user = UserFactory(username="data-manager", role=Role.SUBMITTER, institution=hospital)
    user.set_password(PASSWORD)
    user.save()
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # plain-HTTP live server
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "data-manager")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/hospital/")
    return page


def screenshot(page, name: str, tmp_path: Path) -> None:
    folder = Path(os.environ.get("DASHBOARD_SCREENSHOTS") or tmp_path)
    page.screenshot(path=str(folder / name), full_page=True)


@pytest.mark.django_db(transaction=True)
def test_a_data_manager_enters_corrects_and_withdraws_a_case(
    live_server, settings, browser, tmp_path
):
    page = data_manager(live_server, settings, browser)
    assert "No case yet" in page.locator("main").inner_text()

    page.click("text=Enter a case")
    page.fill("#id-local_id", "hosp-a-000123")
    page.select_option("#id-sex", "female")
    page.fill("#id-age_at_diagnosis", "56")
    page.select_option("#id-menopausal_status", "postmenopausal")
    page.fill("#id-primary_site", "C50.9")
    page.fill("#id-primary_morphology", "8500/3")
    page.fill("#id-metastases-0-site", "C44.4")
    page.select_option("#id-metastases-0-presentation", "nodule")
    page.check("input[name='metastases-0-confirmed_by'][value='histology']")
    # A treatment row is added without saving anything.
    page.click("button[name=add][value=treatments]")
    assert not Case.objects.exists()
    assert page.locator("#id-metastases-0-site").input_value() == "C44.4"
    page.select_option("#id-treatments-0-modality", "surgery")
    page.select_option("#id-treatments-0-target", "metastasis")
    page.fill("#id-treatments-0-metastasis", "1")
    page.click("#save")

    assert "Stored case hosp-a-000123 (version 1)." in page.locator(".messages").inner_text()
    case = Case.objects.get()
    assert case.metastases.get().confirmed_by == ["histology"]
    assert case.treatments.get().metastasis == case.metastases.get()

    # A wrong correction: the API's message beside the field, nothing saved.
    page.fill("#id-metastases-0-months_from_primary", "-4")
    page.click("#save")
    field = page.locator("#id-metastases-0-months_from_primary")
    assert field.get_attribute("aria-invalid") == "true"
    message = page.locator("#metastases-0-months_from_primary-errors").inner_text()
    assert message and page.locator("#form-errors").is_visible()
    screenshot(page, "hospital-form.png", tmp_path)
    case.refresh_from_db()
    assert case.version == 1

    field.fill("14")
    page.click("#save")
    assert "Saved case hosp-a-000123 (version 2)." in page.locator(".messages").inner_text()

    page.fill("#id-reason", "a duplicate of another of our cases")
    page.click("#withdraw")
    assert "a curator will delete it" in page.locator(".messages").inner_text()
    assert CaseWithdrawal.objects.get().case == case
    page.click("text=Hospital A: cases")
    assert "withdrawal requested" in page.locator("#cases").inner_text()


@pytest.mark.django_db(transaction=True)
def test_a_data_manager_imports_the_template_then_fixes_a_file_by_its_line_numbers(
    live_server, settings, browser, tmp_path
):
    page = data_manager(live_server, settings, browser)
    page.click("text=Import a CSV")
    with page.expect_download() as download:
        page.click("main a[download]")
    template = Path(download.value.path())
    assert download.value.suggested_filename == "hospital-cases-template.csv"

    page.set_input_files("#id-file", str(template))
    page.click("#import")
    assert (
        "1 created, 0 updated, 0 unchanged, 0 with errors"
        in page.locator("#import-summary").inner_text()
    )

    # The same file with a typo in the metastasis line (line 3), and a second, good case.
    lines = template.read_text().splitlines()
    typo = [lines[0], lines[1], lines[2].replace("C44.4", "C44.44")]
    second = [line.replace("hosp-000123", "hosp-000124") for line in lines[1:]]
    broken = tmp_path / "cases.csv"
    broken.write_text("\n".join([*typo, *second]) + "\n")
    page.set_input_files("#id-file", str(broken))
    page.click("#import")
    results = page.locator("#import-results").inner_text()
    assert "line 3, column metastasis_site:" in results
    assert (
        "1 created, 0 updated, 0 unchanged, 1 with errors"
        in page.locator("#import-summary").inner_text()
    )
    screenshot(page, "hospital-import.png", tmp_path)
    assert sorted(Case.objects.values_list("local_id", flat=True)) == [
        "hosp-000123",
        "hosp-000124",
    ]
