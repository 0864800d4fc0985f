"""The dashboard in a real browser: sign in, filter, read the table, download CSV.

Headless Chromium driven by Playwright against pytest-django's live server
(tests/browser_helpers.py), skipped where either is missing.
"""

import csv
import io
from pathlib import Path

import pytest

from registry.models import Role
from tests.api_helpers import client_for
from tests.browser_helpers import BROWSER_MARKS, PASSWORD
from tests.factories import UserFactory, load_vocabularies
from tests.test_stats import Spec, create_cases

pytestmark = BROWSER_MARKS


def registry_with_cases():
    """Four site groups: two shown (14 cases each), two small ones left out (3 and 9)."""
    load_vocabularies()  # an earlier transactional test's flush may have emptied them
    create_cases(
        [Spec(metastases=(("C44.4", month),), subtype="triple_negative") for month in range(14)]
        + [Spec(metastases=(("C41.2", 24),), sex="male", subtype="luminal_a_like")] * 14
        + [Spec(metastases=(("C71.9", 30),), subtype="luminal_a_like")] * 3
        + [Spec(metastases=(("C34.1", 6),), subtype="luminal_a_like")] * 9
    )
    user = UserFactory(username="analyst", role=Role.ANALYST, institution=None)
    user.set_password(PASSWORD)
    user.save()
    return user


def published(user, **params) -> dict:
    """What the API tells the analyst (perturbed counts): the page must show the same."""
    response = client_for(user).get("/api/v1/stats/", params)
    assert response.status_code == 200
    return response.json()


def row_numbers(body: dict) -> dict[str, list[str]]:
    return {row["key"]: [str(row["cases"]), str(row["metastases"])] for row in body["rows"]}


def loaded(page, times: int) -> None:
    page.wait_for_selector(f"body[data-loaded='{times}'][aria-busy='false']")


def sites_table(page) -> list[list[str]]:
    return page.locator("#sites-table-wrap tr").evaluate_all(
        "rows => rows.map(row => [...row.cells].map(cell => cell.textContent.trim()))"
    )


@pytest.mark.django_db(transaction=True)
def test_an_analyst_filters_reads_and_downloads_the_counts(live_server, settings, browser):
    analyst = registry_with_cases()
    groups = published(analyst, group_by="site_group")
    women = published(analyst, group_by="site_group", sex="female")
    skin_codes = published(analyst, group_by="code", site_group="Skin", sex="female")
    shown = row_numbers(groups)
    assert set(shown) == {"Bone", "Skin"}  # Brain and CNS (3) and Lung (9) are left out
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # plain-HTTP live server
    page = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 800})
    page = page.new_page()

    # Signing in: the dashboard sends a visitor to the plain login form and back.
    page.goto(f"{live_server.url}/dashboard/")
    assert "/accounts/login/" in page.url
    page.fill("#id_username", "analyst")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    loaded(page, 1)
    assert page.url.endswith("/dashboard/")
    total = groups["total"]["cases"]
    assert page.locator("#status").inner_text() == f"{total} cases (verified) match these filters."
    bars = page.evaluate("Chart.getChart('sites-chart').data.datasets[0].data")
    assert bars == [int(shown["Bone"][0]), int(shown["Skin"][0])]

    # The table view, from the keyboard: the same numbers, the small ones left out.
    toggle = page.locator("button[aria-controls='sites-table-wrap']")
    toggle.focus()
    page.keyboard.press("Enter")
    assert toggle.get_attribute("aria-expanded") == "true"
    assert page.locator("#sites-table-wrap").is_visible()
    assert not page.locator("#sites-chart-wrap").is_visible()
    before = sites_table(page)
    assert ["Bone", *shown["Bone"]] in before
    assert "Brain and CNS" not in [row[0] for row in before]
    assert before[-1] == ["All sites", str(total), str(groups["total"]["metastases"])]
    assert "suppressed" in page.locator("#heat-table-wrap").inner_text()

    # A filter changes the chart and the table.
    page.select_option("#f-sex", "female")
    page.click("#filters button[type=submit]")
    loaded(page, 2)
    after = sites_table(page)
    assert after != before
    women_total = [str(women["total"]["cases"]), str(women["total"]["metastases"])]
    assert after[-1] == ["All sites", *women_total]
    assert "Bone" not in [row[0] for row in after]
    women_skin = int(row_numbers(women)["Skin"][0])
    assert page.evaluate("Chart.getChart('sites-chart').data.datasets[0].data") == [women_skin]

    # The CSV is the API's, for the filters shown; what is left out there is left out here.
    with page.expect_download() as download:
        page.click("#sites-csv")
    assert download.value.suggested_filename == "site-counts.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    skin = dict(zip(("cases", "metastases"), row_numbers(women)["Skin"], strict=True))
    assert {"key": "Skin", "label": "Skin", **skin}.items() <= rows[-2].items()
    assert [row["key"] for row in rows[:-1]] == [row["key"] for row in women["rows"]]

    # Drill-down from the table, by keyboard: the site codes of one group.
    page.locator("#sites-table-wrap button", has_text="Skin").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#sites-title:has-text('Cases per site code in Skin')")
    scalp = row_numbers(skin_codes)["C44.4"]
    assert ["C44.4 Skin of scalp and neck", *scalp] in sites_table(page)


@pytest.mark.django_db(transaction=True)
def test_an_empty_selection_says_no_data_instead_of_drawing_empty_axes(
    live_server, settings, browser
):
    load_vocabularies()  # no cases at all: every table is empty
    user = UserFactory(username="analyst", role=Role.ANALYST, institution=None)
    user.set_password(PASSWORD)
    user.save()
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    page.goto(f"{live_server.url}/dashboard/")
    page.fill("#id_username", "analyst")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    loaded(page, 1)

    assert page.locator("#sites-empty").is_visible()
    assert not page.locator("#sites-chart-wrap").is_visible()
    intervals = page.locator("#intervals-chart")
    assert intervals.inner_text().startswith("No data")
    assert intervals.locator(".axis").count() == 0
    assert page.locator("#heat-table-wrap").inner_text().startswith("No data")
