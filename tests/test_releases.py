"""Releases: what analysts count is a numbered snapshot that later writes never move.

Asked, submitted and verified, asked again: the same release gives the same
bytes. A curator's correction to a case in a release changes the live data,
not the release. A retired release is a 410 naming its successor.
"""

import csv
import io
import os

import hypothesis
import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from hypothesis import strategies as st

from registry.access import ANALYST_FILTERS, ReleaseRetired, counted_release
from registry.case_filters import CaseFilterSet
from registry.models import Case, Release, ReviewStatus
from registry.releases import snapshot
from registry.services.cases import case_create, case_review, case_update
from registry.services.releases import next_release_name, release_create, release_retire
from tests.api_helpers import client_for
from tests.factories import InstitutionFactory, founding_payload
from tests.process_helpers import last_json_line, run_python

pytestmark = pytest.mark.django_db

STATS = "/api/v1/stats/"


def add_cases(
    count: int, *, site: str = "C44.4", verified: bool = True, start: int = 0, code="hosp-r"
) -> list[Case]:
    """`count` breast cases with one metastasis at `site`, verified unless told otherwise."""
    institution = InstitutionFactory(code=code, name=f"Hospital {code}")
    template = founding_payload()["metastases"][0]
    cases = []
    for number in range(start, start + count):
        case = case_create(
            institution=institution,
            local_id=f"rel-{site}-{number}",
            payload=founding_payload(metastases=[{**template, "site": site}]),
            actor=None,
        )
        if verified:
            case = case_review(case=case, status=ReviewStatus.VERIFIED, actor=None)
        cases.append(case)
    return cases


def reject(case: Case) -> None:
    """A verified case taken back: re-opened, then rejected."""
    case_review(case=case, status=ReviewStatus.IN_REVIEW, actor=None)
    case_review(case=case, status=ReviewStatus.REJECTED, reason="Not metastatic", actor=None)


@pytest.fixture
def released(db):
    """30 verified cases with a scalp metastasis, 20 with a lung one, and release 2026.1."""
    add_cases(30)
    add_cases(20, site="C34.9")
    add_cases(3, verified=False, start=100)  # submitted: never in a release
    return release_create(name="2026.1", description="The first release.")


# ---------------------------------------------------------------- counting a release


def test_an_analysts_answer_keeps_its_bytes_after_new_cases_and_corrections(
    released, analyst, curator
):
    client = client_for(analyst)
    paths = [
        (STATS, {"group_by": "site_group"}),
        (STATS + "sites.csv", {"group_by": "code"}),
        (STATS + "counts/", {"by": "subtype"}),
        (STATS + "crosstab.csv", {"rows": "site_group", "cols": "sex"}),
        (STATS + "intervals/", {}),
        (STATS + "survival/", {}),
        (STATS + "site-shares.csv", {}),
        (STATS + "profile.csv", {"primary_category": "C50", "site_group": "Skin"}),
        (STATS + "profile/", {"primary_category": "C50", "site": "C44.4"}),
    ]
    before = [client.get(path, params).content for path, params in paths]
    live_before = client_for(curator).get(STATS, {"status": "verified"}).json()

    add_cases(15, site="C71.9", start=200)  # newly submitted and verified
    corrected = Case.objects.filter(metastases__site="C44.4").first()
    payload = founding_payload(
        metastases=[{**founding_payload()["metastases"][0], "site": "C22.0"}]
    )
    case_update(case=corrected, payload=payload, actor=curator)  # a curator's fix
    rejected = Case.objects.filter(metastases__site="C34.9").first()
    reject(rejected)

    after = [client.get(path, params).content for path, params in paths]
    assert after == before
    live_after = client_for(curator).get(STATS, {"status": "verified"}).json()
    assert live_after["total"]["cases"] == live_before["total"]["cases"] + 15 - 1 - 0
    # A curator asking for the release gets the release's exact counts, not the live ones.
    frozen = client_for(curator).get(STATS, {"release": "2026.1", "group_by": "site_group"})
    assert frozen.json()["total"]["cases"] == 50
    assert frozen.json()["release"] == "2026.1"


def test_an_answer_names_its_release_in_json_and_csv(released, analyst):
    client = client_for(analyst)
    body = client.get(STATS).json()
    assert body["release"] == "2026.1"
    assert body["generated_at"] == released.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert "release 2026.1" in body["provenance"]
    assert "counts below 11 suppressed" in body["provenance"]
    # Skin: the lung cases it leaves out are enough that the filter may be used.
    text = client.get(STATS + "sites.csv", {"site_group": "Skin"}).content.decode()
    header = [line for line in text.splitlines() if line.startswith("#")]
    assert "# release: 2026.1" in header
    assert "# filters: site_group=Skin" in header
    assert "# counted: verified" in header
    assert "# threshold: 11" in header and "# protection: cell_key" in header
    rows = list(csv.DictReader(line for line in io.StringIO(text) if not line.startswith("#")))
    assert rows[-1]["label"] == "All sites"


def test_the_csv_reads_with_pandas_comment_lines(released, analyst):
    pandas = pytest.importorskip("pandas")
    text = client_for(analyst).get(STATS + "counts.csv", {"by": "sex"}).content.decode()
    frame = pandas.read_csv(io.StringIO(text), comment="#")
    assert list(frame.columns) == ["key", "label", "cases", "suppressed"]
    assert frame["label"].iloc[-1] == "All cases"


def test_curators_count_live_data_by_default(released, curator):
    body = client_for(curator).get(STATS, {"status": "verified"}).json()
    assert body["release"] is None
    assert "live data as of" in body["provenance"]
    add_cases(12, site="C71.9", start=300)
    again = client_for(curator).get(STATS, {"status": "verified"}).json()
    assert again["total"]["cases"] == body["total"]["cases"] + 12


def test_analysts_count_the_newest_release_and_may_name_an_older_one(released, analyst):
    add_cases(15, site="C71.9", start=400)  # 15: shown whatever the keyed jitter
    newer = release_create(name="2026.2")
    client = client_for(analyst)
    assert client.get(STATS).json()["release"] == newer.name
    older = client.get(STATS, {"release": "2026.1", "group_by": "code"}).json()
    assert older["release"] == "2026.1"
    assert "C71.9" not in {row["key"] for row in older["rows"]}
    newest = client.get(STATS, {"group_by": "code"}).json()
    assert "C71.9" in {row["key"] for row in newest["rows"]}


def test_before_the_first_release_analysts_count_live_verified_cases(db, analyst):
    add_cases(15)
    body = client_for(analyst).get(STATS).json()
    assert body["release"] is None
    assert body["total"]["cases"] is not None


@pytest.mark.parametrize("persona", ["analyst", "curator"])
def test_a_retired_release_is_a_410_naming_its_successor(request, released, persona):
    successor = release_create(name="2026.2")
    release_retire(release=released)
    response = client_for(request.getfixturevalue(persona)).get(STATS, {"release": "2026.1"})
    assert response.status_code == 410
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "release_retired"
    assert problem["successor"] == successor.name and problem["release"] == "2026.1"
    assert "2026.2" in problem["detail"]


@pytest.mark.parametrize("value", ["2099.9", "", "x" * 40, "../2026.1", "2026.1;DROP", "2026.1\n"])
def test_an_unknown_or_malformed_release_is_a_400_naming_release(released, analyst, value):
    response = client_for(analyst).get(STATS + "counts.csv", {"by": "sex", "release": value})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert {error["field"] for error in response.json()["errors"]} == {"release"}


def test_a_retired_release_frees_its_rows_and_cannot_be_retired_twice(released):
    release_create(name="2026.2")
    release_retire(release=released)
    with pytest.raises(ValidationError):
        release_retire(release=released)
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
    assert not any(name.startswith(f"{released.storage}__") for name in tables)


def test_the_newest_release_cannot_be_retired_without_a_successor(released):
    with pytest.raises(ValidationError, match="make one first"):
        release_retire(release=released)


# ---------------------------------------------------------------- what a release holds


@pytest.mark.postgres
def test_a_releases_rows_refuse_every_write(released):
    table = snapshot.qualified(released.storage, "registry_case", "default")
    for statement in (f"UPDATE {table} SET sex = 'male'", f"DELETE FROM {table}"):
        with (
            pytest.raises(DatabaseError, match="immutable"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)


def test_a_release_holds_verified_cases_without_free_text(released):
    assert (released.cases, released.metastases) == (50, 50)
    table = snapshot.qualified(released.storage, "registry_metastasis", "default")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT misdiagnosis_text FROM {table}")
        assert cursor.fetchall() == [("",)]


def test_the_checksum_depends_on_the_rows_alone(released, curator):
    same = release_create(name="2026.2")
    assert same.checksum == released.checksum and same.checksum.startswith("sha256:")
    case = Case.objects.filter(status=ReviewStatus.VERIFIED).first()
    case_update(
        case=case, payload=founding_payload(sex="male", menopausal_status="unknown"), actor=curator
    )
    assert release_create(name="2026.3").checksum != released.checksum


def test_a_release_records_version_size_and_time(released):
    assert released.software_version == "0.1.0"
    assert released.seconds_to_create is not None and released.seconds_to_create >= 0
    if connection.vendor == "postgresql":
        assert released.storage_bytes > 0


# ---------------------------------------------------------------- release notes


def test_release_notes_count_added_removed_and_changed_cases_per_site_group(
    released, curator, analyst
):
    assert released.changes["added"]["total"][0] == 50
    add_cases(16, site="C71.9", start=500)  # 16: shown whatever the keyed jitter
    for case in Case.objects.filter(metastases__site="C34.9")[:12]:
        reject(case)
    changed = Case.objects.filter(metastases__site="C44.4", status=ReviewStatus.VERIFIED)[:2]
    for case in changed:
        case_update(case=case, payload=founding_payload(age_at_diagnosis=60), actor=curator)
    notes = release_create(name="2026.2").changes
    exact = {
        kind: (found["total"][0], {g: p[0] for g, p in found["site_groups"].items()})
        for kind, found in notes.items()
    }
    assert exact["added"] == (16, {"Brain and CNS": 16})
    assert exact["removed"] == (12, {"Lung": 12})
    assert exact["changed"] == (2, {"Skin": 2})

    release = Release.objects.get(name="2026.2")
    shown = client_for(analyst).get("/api/v1/releases/2026.2/").json()["changes"]
    assert shown["changed"]["total"] is None  # 2 cases: below the threshold
    assert shown["added"]["site_groups"]["Brain and CNS"] in range(14, 19)
    assert (
        client_for(curator).get("/api/v1/releases/2026.2/").json()["changes"]["changed"]["total"]
        == 2
    )
    assert release.previous.name == "2026.1"


# ---------------------------------------------------------------- names, policy, commands


def test_release_names_number_the_year(db):
    assert next_release_name(2026) == "2026.1"
    add_cases(1)
    release_create(name="2026.7")
    assert next_release_name(2026) == "2026.8"


def test_only_curators_may_choose_live_data_silently(released, analyst, curator):
    assert counted_release(curator, None) is None
    assert counted_release(analyst, None) == released


def test_release_command_creates_lists_and_retires(db):
    add_cases(12)
    out = io.StringIO()
    call_command("release", "create", "--name", "2026.1", stdout=out)
    call_command("release", "create", "--name", "2026.2", "--notes", "Second.", stdout=out)
    call_command("release", "retire", "2026.1", stdout=out)
    call_command("release", "list", stdout=out)
    text = out.getvalue()
    assert "Created release 2026.1: 12 cases" in text
    assert "2026.1  retired" in text and "successor 2026.2" in text


# ---------------------------------------------------------------- the releases and their citation


def test_the_releases_are_listed_newest_first_for_anyone(released, client):
    release_create(name="2026.2")
    found = client.get("/api/v1/releases/").json()
    assert [release["name"] for release in found] == ["2026.2", "2026.1"]
    assert found[0]["previous"] == "2026.1" and found[0]["checksum"].startswith("sha256:")


def test_a_release_cites_itself_as_cff_and_bibtex(released, client):
    yaml = pytest.importorskip("yaml")
    response = client.get("/api/v1/releases/2026.1/citation")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/x-yaml")
    cff = yaml.safe_load(response.content)
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "dataset"
    assert cff["version"] == "2026.1"
    assert cff["url"] == "http://testserver/api/v1/releases/2026.1/"
    assert cff["identifiers"][0]["value"] == released.checksum
    for asked in ({"format": "bibtex"}, {"HTTP_ACCEPT": "application/x-bibtex"}):
        params = {k: v for k, v in asked.items() if k == "format"}
        headers = {k: v for k, v in asked.items() if k != "format"}
        bibtex = client.get("/api/v1/releases/2026.1/citation", params, **headers)
        text = bibtex.content.decode()
        assert text.startswith("@misc{rmr_2026_1,") and "version = {2026.1}" in text
        assert text.count("{") == text.count("}")


def test_a_retired_release_can_still_be_cited(released, client):
    release_create(name="2026.2")
    release_retire(release=released)
    assert client.get("/api/v1/releases/2026.1/citation").status_code == 200
    detail = client.get("/api/v1/releases/2026.1/").json()
    assert detail["successor"] == "2026.2" and detail["retired_at"]


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/api/v1/releases/2099.1/citation", {}, 404),
        ("/api/v1/releases/2099.1/", {}, 404),
        ("/api/v1/releases/2026.1/citation", {"format": "json"}, 400),
        ("/api/v1/releases/2026.1/citation", {"format": "xml"}, 400),
    ],
)
def test_citation_errors_are_problems(released, client, path, params, status):
    response = client.get(path, params)
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"


def test_the_provenance_line_is_one_line_naming_release_filters_and_protection(released, analyst):
    body = client_for(analyst).get(STATS, {"site_group": "Skin"}).json()
    line = body["provenance"]
    assert "\n" not in line
    assert "release 2026.1" in line and released.checksum[:19] in line
    assert "filters: site_group=Skin;" in line
    assert "cell-key" in line


# ---------------------------------------------------------------- the admin


def test_a_curator_makes_and_retires_releases_in_the_admin(db, client, curator_in_admin):
    add_cases(12)
    page = client.post("/admin/registry/release/add/", {"name": "", "description": "First."})
    assert page.status_code == 302
    first = Release.objects.get()
    assert first.name == next_release_name().replace(".2", ".1") or first.name.endswith(".1")
    assert first.cases == 12 and first.description == "First."
    client.post("/admin/registry/release/add/", {"name": "2026.9", "description": ""})
    refused = client.post("/admin/registry/release/add/", {"name": "2026.9", "description": ""})
    assert refused.status_code == 200 and b"exists already" in refused.content
    assert client.get(f"/admin/registry/release/{first.pk}/change/").status_code == 200
    client.post(
        "/admin/registry/release/",
        {"action": "retire_releases", "_selected_action": [first.pk]},
    )
    first.refresh_from_db()
    assert first.retired and first.successor.name == "2026.9"


# ---------------------------------------------------------------- SQLite (`make run`)


@pytest.mark.slow
def test_releases_work_on_sqlite(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    result = run_python("tests/data/release_on_sqlite.py", env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    found = last_json_line(result)
    assert (found["live"], found["release"], found["cases_in_release"]) == (2, 1, 1)
    assert found["named"] == "2026.1" and found["csv_same"]
    assert "# release: 2026.1" in found["csv"]


def test_a_release_retired_while_it_is_being_asked_for_is_a_410_not_a_500(released, analyst):
    chosen = counted_release(analyst, "2026.1")  # chosen, then retired before it is read
    release_create(name="2026.2")
    release_retire(release=Release.objects.get(name="2026.1"))
    with pytest.raises(ReleaseRetired), snapshot.reading(chosen):
        Case.objects.count()


@pytest.mark.parametrize(
    ("persona", "seen"),
    [
        ("anonymous", "none"),
        ("submitter_a", "none"),
        ("analyst", "protected"),
        ("curator", "exact"),
    ],
)
def test_release_notes_are_counts_only_statistics_readers_see(request, released, persona, seen):
    user = None if persona == "anonymous" else request.getfixturevalue(persona)
    record = client_for(user).get("/api/v1/releases/2026.1/")
    assert record.status_code == 200  # the record itself is public: a citation opens it
    changes = record.json()["changes"]
    if seen == "none":
        assert changes is None
    elif seen == "exact":
        assert changes["added"]["site_groups"] == {"Lung": 20, "Skin": 30}
    else:
        assert set(changes["added"]["site_groups"]) == {"Lung", "Skin"}
        assert abs(changes["added"]["site_groups"]["Skin"] - 30) <= 2


# ---------------------------------------------------------------- CSV provenance, any filters

_CLOSED = {
    name: declared.field.choices
    for name, declared in CaseFilterSet.base_filters.items()
    if name in ANALYST_FILTERS and getattr(declared.field, "choices", None) and name != "status"
}


@hypothesis.settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[
        hypothesis.HealthCheck.function_scoped_fixture,
        hypothesis.HealthCheck.too_slow,
    ],
)
@hypothesis.given(
    chosen=st.dictionaries(
        st.sampled_from(sorted(_CLOSED)),
        st.just(None),
        max_size=4,
    ).flatmap(
        lambda names: st.fixed_dictionaries(
            {
                # One value per filter: analysts' lists are refused (docs/statistics.md).
                name: st.lists(st.sampled_from(_CLOSED[name]), min_size=1, max_size=1)
                for name in names
            }
        )
    ),
    endpoint=st.sampled_from(["sites.csv", "counts.csv", "crosstab.csv", "intervals.csv"]),
)
def test_every_csv_starts_with_its_provenance_and_parses_after_it(
    released, analyst, chosen, endpoint
):
    options = {"counts.csv": {"by": "sex"}, "crosstab.csv": {"rows": "sex", "cols": "site_group"}}
    params = {name: ",".join(values) for name, values in chosen.items()}
    response = client_for(analyst).get(STATS + endpoint, {**params, **options.get(endpoint, {})})
    if response.status_code == 400:  # a filter that leaves out too few cases is refused
        assert response.json()["code"] == "filter_removes_too_few"
        hypothesis.assume(False)
    assert response.status_code == 200
    lines = response.content.decode().split("\r\n")
    comments = [line for line in lines if line.startswith("#")]
    assert lines[: len(comments)] == comments  # all above the header
    names = [line.split(":", 1)[0] for line in comments]
    assert names == [
        "# registry",
        "# release",
        "# counted",
        "# filters",
        "# threshold",
        "# protection",
        "# generated",
        "# provenance",
    ]
    filters_line = comments[3].removeprefix("# filters: ")
    for name, values in chosen.items():
        assert f"{name}={','.join(values)}" in filters_line
    table = list(csv.reader(lines[len(comments) :]))
    assert table[0][0] in ("key", "row_key") and all(
        len(row) in (0, len(table[0])) for row in table
    )


@pytest.mark.parametrize("name", ["2026-1", "2026_1", "../x", "", "a" * 33, "2026.1 "])
def test_a_name_that_is_taken_in_another_spelling_or_malformed_is_refused(released, name):
    with pytest.raises(ValidationError):
        release_create(name=name or "-")


def test_copies_left_by_a_release_whose_record_is_gone_are_replaced(released):
    Release.objects.filter(pk=released.pk).delete()  # as `flush` would: the copies stay
    again = release_create(name="2026.1")
    assert again.cases == 50 and again.checksum == released.checksum
