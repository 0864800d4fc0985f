"""The site profile page in a real browser: the profile, the survival curves, their risk table
and CSV, with exactly the numbers the API gives the analyst.

Headless Chromium with Playwright, skipped where either is missing, as in
tests/browser_helpers.py.
"""

import csv
import io
from pathlib import Path

import pytest

from registry.models import Role
from tests.api_helpers import client_for
from tests.browser_helpers import BROWSER_MARKS, PASSWORD
from tests.factories import UserFactory, load_vocabularies
from tests.test_survival import COHORTS, create_clinical_cases

pytestmark = BROWSER_MARKS


def first_at_risk(curve: dict) -> int:
    return curve["points"][0]["at_risk"]


@pytest.mark.django_db(transaction=True)
def test_an_analyst_reads_the_breast_to_scalp_profile_and_its_curves(
    live_server, settings, browser
):
    load_vocabularies()
    create_clinical_cases(COHORTS)
    analyst = UserFactory(username="analyst", role=Role.ANALYST, institution=None)
    analyst.set_password(PASSWORD)
    analyst.save()
    api = client_for(analyst)
    survival = api.get("/api/v1/stats/survival/", {"primary_category": "C50", "by": "site_group"})
    curves = {group["label"]: group for group in survival.json()["groups"]}
    profile = api.get("/api/v1/stats/profile/", {"primary_category": "C50", "site": "C44.4"})
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    page = browser.new_context(accept_downloads=True).new_page()

    page.goto(f"{live_server.url}/dashboard/profile/")
    page.fill("#id_username", "analyst")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("body[data-loaded='1']")
    assert page.locator("#status").inner_text() == ""

    # The curves are the API's points; the small lung group is not drawn.
    datasets = page.evaluate(
        "Chart.getChart('km-chart').data.datasets.filter(d => !d.band)"
        ".map(d => [d.label, d.data.map(p => p.y)])"
    )
    assert [label for label, _ in datasets] == [
        f"{label} (n={group['cases']})" for label, group in curves.items()
    ]
    for label, values in datasets:
        group = curves[label.split(" (n=")[0]]
        assert values == [point["survival"] for point in group["points"]]
    assert "Lung" not in curves

    # Each curve carries its 95 % band: the API's lower and upper limits.
    skin_band = page.evaluate(
        "Chart.getChart('km-chart').data.datasets.filter(d => d.band && d.label.startsWith('Skin'))"
        ".map(d => d.data.map(p => p.y))"
    )
    points = curves["Skin"]["points"]
    assert skin_band == [
        [p["lower"] for p in points if p["lower"] is not None],
        [p["upper"] for p in points if p["upper"] is not None],
    ]
    # The risk table is under the chart, without asking for it.
    risk = page.locator("#km-risk").inner_text()
    assert f"Skin\t{first_at_risk(curves['Skin'])}" in risk

    # The text alternative lists each point with its number at risk.
    page.click("button[aria-controls='km-table-wrap']")
    text = page.locator("#km-table-wrap").inner_text()
    first = curves["Skin"]["points"][0]
    assert f"Skin\t0\t{first['at_risk']}\t{first['survival']:.3f}" in text

    # Every scalp metastasis was first taken for something else: "none" is a hidden count
    # (zero), so the share, which would give it away, is not shown either.
    assert profile.json()["misdiagnosed"]["share"] is None
    assert page.locator("#misdiagnosed").inner_text() == "Not shown: too few cases to tell."

    with page.expect_download() as download:
        page.click("#km-csv")
    assert download.value.suggested_filename == "survival.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert {row["group_key"] for row in rows} == {"all", *(g["key"] for g in curves.values())}
