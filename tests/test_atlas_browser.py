"""The literature atlas page in a real browser: published cases with their reports, no
hospital case, and the registry's count beside them, withheld when small.

Headless Chromium with Playwright, skipped where either is missing (tests/browser_helpers.py).
"""

import pytest

from registry.models import Role
from tests.atlas_helpers import FOUNDING_DOI, founding_report, hospital_case
from tests.browser_helpers import BROWSER_MARKS, PASSWORD
from tests.factories import InstitutionFactory, UserFactory, load_vocabularies

pytestmark = BROWSER_MARKS


@pytest.mark.django_db(transaction=True)
def test_an_analyst_browses_the_scalp_atlas_beside_the_protected_count(
    live_server, settings, browser
):
    load_vocabularies()
    curator = UserFactory(username="curator", role=Role.CURATOR, institution=None, is_staff=True)
    hospital = InstitutionFactory(code="hosp-a", name="Hospital A")
    submitter = UserFactory(username="submitter-a", role=Role.SUBMITTER, institution=hospital)
    report = founding_report(curator)
    record = hospital_case(hospital, submitter, curator)
    analyst = UserFactory(username="analyst", role=Role.ANALYST, institution=None)
    analyst.set_password(PASSWORD)
    analyst.save()
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    page = browser.new_page()

    page.goto(f"{live_server.url}/dashboard/atlas/?site=C44.4&primary_category=C50")
    page.fill("#id_username", "analyst")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("body[data-loaded='1']")
    assert page.locator("#status").inner_text() == ""

    rows = page.locator("#atlas-table tbody tr")
    assert rows.count() == 1
    assert rows.first.get_attribute("data-uuid") == str(report.uuid)
    assert str(record.uuid) not in page.content()
    link = rows.first.locator("a")
    assert link.get_attribute("href") == f"https://doi.org/{FOUNDING_DOI}"
    assert "benign lesion" in rows.first.inner_text().lower()
    # Two cases at the scalp in the registry: below the threshold, so withheld.
    assert "withheld" in page.locator("#registry-count").inner_text()

    # Another site: the URL keeps the filters, and an empty answer says so.
    page.fill("#a-site", "C71.0")
    page.click("#atlas-form button[type=submit]")
    page.wait_for_selector("body[data-loaded='2']")
    assert "site=C71.0" in page.url
    assert page.locator("#cases").inner_text() == "No published case matches."
