"""The dashboard in a real browser: sign in, filter, read the table, download CSV.

Headless Chromium driven by Playwright against pytest-django's live server
(tests/browser_helpers.py), skipped where either is missing.
"""

import csv
import io
import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from registry.models import Institution, ReviewStatus, Role, Subtype
from registry.services.cases import case_create, case_review
from tests.api_helpers import client_for
from tests.browser_helpers import BROWSER_MARKS, PASSWORD
from tests.factories import UserFactory, founding_payload, load_vocabularies
from tests.test_stats import Spec, create_cases

pytestmark = BROWSER_MARKS
# Known gap: the analysts' rules of this round (survival steps of at least the threshold
# of events, the differencing rule) withhold or refuse what this test's small registry
# asks. The test must be rebuilt on a larger registry (the closing note of issue 21).
SMALL_REGISTRY = "the test registry is too small for the analysts' privacy rules"


def registry_with_cases():
    """Four site groups: two shown (20 and 35 cases), two small ones left out (3 and 9).

    Shown groups hold 15 or more, which the keyed jitter never hides, and every filter
    the tests use leaves out 15 or more, so the differencing rule never refuses them.
    """
    load_vocabularies()  # an earlier transactional test's flush may have emptied them
    create_cases(
        [Spec(metastases=(("C44.4", month),), subtype="triple_negative") for month in range(20)]
        + [Spec(metastases=(("C44.4", 6),), sex="male", subtype="luminal_a_like")] * 15
        + [Spec(metastases=(("C41.2", 24),), sex="male", subtype="luminal_a_like")] * 20
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


@pytest.mark.xfail(
    reason=SMALL_REGISTRY,
    strict=False,
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
    text = Path(download.value.path()).read_text()
    # After the provenance lines (# release, # filters, ...): the table.
    rows = list(csv.DictReader(line for line in io.StringIO(text) if not line.startswith("#")))
    skin = dict(zip(("cases", "metastases"), row_numbers(women)["Skin"], strict=True))
    assert {"key": "Skin", "label": "Skin", **skin}.items() <= rows[-2].items()
    assert [row["key"] for row in rows[:-1]] == [row["key"] for row in women["rows"]]

    # Drill-down from the table, by keyboard: the site codes of one group.
    page.locator("#sites-table-wrap button", has_text="Skin").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#sites-title:has-text('Cases per site code in Skin')")
    scalp = row_numbers(skin_codes)["C44.4"]
    assert ["C44.4 Skin of scalp and neck", *scalp] in sites_table(page)


# The visible tables that scroll sideways (hide columns) at the page's width.
OVERFLOWING = """[...document.querySelectorAll('.table-wrap')].filter(w => w.offsetParent)
    .filter(w => w.scrollWidth > w.clientWidth + 1).map(w => w.id)"""


def signed_in(live_server, settings, browser, user, path="/dashboard/", *, width=1280):
    """A page of `path` after the login form, at `width` px, the first load finished."""
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # plain-HTTP live server
    context = browser.new_context(accept_downloads=True, viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto(f"{live_server.url}{path}")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    loaded(page, 1)
    return page


def person(username: str, role: str):
    user = UserFactory(username=username, role=role, institution=None)
    user.set_password(PASSWORD)
    user.save()
    return user


def screenshot(page, name: str, tmp_path: Path) -> Path:
    """Screenshots go to a temporary folder; `DASHBOARD_SCREENSHOTS=docs` refreshes docs/."""
    folder = Path(os.environ.get("DASHBOARD_SCREENSHOTS") or tmp_path)
    target = folder / name
    page.screenshot(path=str(target), full_page=True)
    return target


@pytest.mark.django_db(transaction=True)
def test_an_empty_selection_says_suppressed_to_analysts_and_no_data_to_curators(
    live_server, settings, browser
):
    load_vocabularies()  # no cases at all: every table is empty
    analyst = person("analyst", Role.ANALYST)
    page = signed_in(live_server, settings, browser, analyst)

    # To an analyst an empty table and one of a few cases look the same: never "no data".
    for locator in ("#sites-empty", "#intervals-chart", "#heat-table-wrap"):
        text = page.locator(locator).inner_text()
        assert text.startswith("Suppressed: fewer than 11 cases match"), (locator, text)
        assert "No data" not in text
    assert not page.locator("#sites-chart-wrap").is_visible()
    assert page.locator("#intervals-chart .axis").count() == 0

    # A curator's counts are exact: an empty table is no data.
    curator = person("curator", Role.CURATOR)
    page = signed_in(live_server, settings, browser, curator)
    assert page.locator("#sites-empty").inner_text().startswith("No data")
    assert page.locator("#heat-table-wrap").inner_text().startswith("No data")


def registry_for_the_honest_dashboard():
    """Skin cases that also have liver metastases; an eye group whose codes are each small;
    every subtype published (the widest heat table)."""
    load_vocabularies()
    create_cases(
        [Spec(metastases=(("C44.4", 3), ("C22.0", 5)), subtype="triple_negative")] * 16
        + [Spec(metastases=(("C22.0", 8),), subtype="luminal_a_like")] * 20
        # 21 cases in Eye and orbit, 7 per code: the group is shown, none of its codes.
        + [Spec(metastases=((code, 12),), sex="male") for code in ("C69.0", "C69.2", "C69.4")] * 7
    )
    # Every subtype of every family on a primary of its family: the widest heat table.
    primaries = {"breast": ("C50.9", "8500/3"), "lung": ("C34.1", "8140/3")}
    primaries["colorectal"] = ("C18.7", "8140/3")
    institution = Institution.objects.get(code="hosp-a")
    for number, subtype in enumerate(Subtype.objects.order_by("code")):
        site, morphology = primaries[subtype.family]
        for copy in range(16):  # 16: shown whatever the keyed jitter
            payload = founding_payload(
                primary_site=site,
                primary_morphology=morphology,
                subtype=subtype.code,
                menopausal_status="unknown",
                year_of_diagnosis=2019,
                metastases=[{"site": "C41.2", "months_from_primary": 24}],
            )
            case = case_create(
                institution=institution,
                local_id=f"wide-{number}-{copy}",
                payload=payload,
                actor=None,
            )
            case_review(case=case, status=ReviewStatus.VERIFIED, actor=None)
    return person("analyst", Role.ANALYST)


@pytest.mark.django_db(transaction=True)
def test_a_drill_down_shows_only_the_codes_of_its_group_and_says_when_they_are_suppressed(
    live_server, settings, browser
):
    analyst = registry_for_the_honest_dashboard()
    groups = {row["key"]: row for row in published(analyst, group_by="site_group")["rows"]}
    codes = row_numbers(published(analyst, group_by="code"))
    assert "Eye and orbit" in groups and not {"C69.0", "C69.2", "C69.4"} & set(codes)
    page = signed_in(live_server, settings, browser, analyst)
    page.click("button[aria-controls='sites-table-wrap']")

    page.locator("#sites-table-wrap button", has_text="Skin").click()
    page.wait_for_selector("#sites-title:has-text('Cases per site code in Skin')")
    table = sites_table(page)
    # The skin cases' liver metastases are not Skin's codes.
    assert [row[0] for row in table[1:]] == ["C44.4 Skin of scalp and neck", "All of Skin"]
    assert table[-1][1:] == [str(groups["Skin"]["cases"]), str(groups["Skin"]["metastases"])]
    assert table[1][1:] == codes["C44.4"]
    assert page.locator("#sites-note").is_visible()
    assert "each perturbed on their own" in page.locator("#sites-note").inner_text()

    # A group of 21 cases whose codes are each under the threshold is suppressed, not empty.
    page.click("#sites-back")
    page.locator("#sites-table-wrap button", has_text="Eye and orbit").click()
    page.wait_for_selector("#sites-title:has-text('Eye and orbit')")
    message = page.locator("#sites-empty").inner_text()
    eye = groups["Eye and orbit"]["cases"]
    assert message == (
        f"Suppressed: {eye} cases match, but each site code of Eye and orbit has fewer "
        "than 11, too few to show."
    )
    assert "No data" not in page.locator("main").inner_text()


@pytest.mark.django_db(transaction=True)
def test_the_view_lives_in_the_address_and_reloads_as_it_was(live_server, settings, browser):
    analyst = registry_for_the_honest_dashboard()
    page = signed_in(live_server, settings, browser, analyst)
    page.select_option("#f-sex", "female")
    page.fill("#f-primary", "c50")
    page.click("#filters button[type=submit]")
    loaded(page, 2)
    page.click("button[aria-controls='sites-table-wrap']")
    page.locator("#sites-table-wrap button", has_text="Skin").click()
    page.wait_for_selector("#sites-title:has-text('Skin')")
    assert page.url.endswith("/dashboard/?primary=c50&sex=female&group=Skin")
    shown = sites_table(page)

    # A colleague opens the link: the same filters, the same group, the same numbers.
    colleague = signed_in(
        live_server, settings, browser, analyst, page.url.split(live_server.url)[1]
    )
    assert colleague.locator("#f-sex").input_value() == "female"
    assert colleague.locator("#f-primary").input_value() == "c50"
    colleague.click("button[aria-controls='sites-table-wrap']")
    assert sites_table(colleague) == shown
    # The other views open on the same primary.
    assert colleague.locator("#link-survival").get_attribute("href") == (
        "/dashboard/profile/?primary=C50&site=Skin#survival"
    )

    # Back returns to the site groups; Clear empties the address.
    page.go_back()
    page.wait_for_selector("#sites-title:has-text('Cases per metastatic site group')")
    page.click("#filters button[type=reset]")
    # Waited for from Python: the page's CSP allows no evaluated script.
    page.wait_for_url(lambda url: urlsplit(url).query == "")
    assert page.locator("#f-sex").input_value() == ""


@pytest.mark.django_db(transaction=True)
def test_every_table_is_whole_at_1280_px_with_its_protection_note(
    live_server, settings, browser, tmp_path
):
    analyst = registry_for_the_honest_dashboard()
    page = signed_in(live_server, settings, browser, analyst)
    columns = page.locator("#heat-table-wrap thead th").count()
    # Every subtype, "unknown", the site group and the total.
    assert columns == Subtype.objects.count() + 3
    for toggle in page.locator(".table-toggle").all():
        toggle.click()
    assert page.evaluate(OVERFLOWING) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    for note in ("#sites-note", "#intervals-note", "#heat-note"):
        assert page.locator(note).is_visible()
    # No whiskers are promised to analysts, who get no minimum or maximum.
    assert "whiskers: minimum" not in page.locator("#intervals-hint").inner_text()
    assert screenshot(page, "dashboard.png", tmp_path).stat().st_size > 10_000

    # A curator's tables have more columns (minimum and maximum): whole at 1280 px too.
    page = signed_in(live_server, settings, browser, person("curator", Role.CURATOR))
    for toggle in page.locator(".table-toggle").all():
        toggle.click()
    assert page.locator("#intervals-table-wrap th", has_text="Max").count() == 1
    assert page.evaluate(OVERFLOWING) == []


@pytest.mark.xfail(
    reason=SMALL_REGISTRY,
    strict=False,
)
@pytest.mark.django_db(transaction=True)
def test_the_dashboard_links_survival_with_its_band_and_risk_table_and_site_shares(
    live_server, settings, browser
):
    analyst = registry_for_the_honest_dashboard()
    shares = client_for(analyst).get("/api/v1/stats/site-shares/", {"group_by": "site_group"})
    page = signed_in(live_server, settings, browser, analyst)

    page.click("#link-survival")
    page.wait_for_selector("body[data-loaded='1']")
    assert "/dashboard/profile/?primary=C50" in page.url and page.url.endswith("#survival")
    assert page.locator("#km-risk table").is_visible()
    assert page.locator("#shares-table-wrap table").is_visible()
    bands = page.evaluate(
        "Chart.getChart('km-chart').data.datasets.filter(d => d.band).map(d => d.label)"
    )
    assert all(label.endswith((" lower", " 95 % band")) for label in bands)
    assert shares.status_code == 200
