"""The literature atlas: published cases row by row, for whom, and never a hospital case."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from registry.models import ReviewStatus
from tests.api_helpers import client_for
from tests.atlas_helpers import FOUNDING_DOI, founding_report, hospital_case, literature_case

pytestmark = pytest.mark.django_db

ATLAS = "/api/v1/atlas/"


@pytest.fixture
def founding(curator):
    return founding_report(curator)


@pytest.fixture
def verified_hospital_case(hospital_a, submitter_a, curator):
    """Hospital A's own record of a patient like the founding case (source: hospital)."""
    return hospital_case(hospital_a, submitter_a, curator)


def uuids(response) -> list[str]:
    return [row["uuid"] for row in response.json()["results"]]


def test_analyst_reads_published_cases_row_by_row_with_their_citation(
    analyst, founding, verified_hospital_case
):
    response = client_for(analyst).get(ATLAS)
    assert response.status_code == 200
    (row,) = response.json()["results"]
    assert row["uuid"] == str(founding.uuid)
    assert row["primary_site"] == "C50.9"
    assert row["metastases"][0]["site"] == "C44.4"
    assert row["metastases"][0]["misdiagnosis"] == "benign_lesion"
    assert row["citation"]["doi"] == FOUNDING_DOI
    assert row["citation"]["url"] == f"https://doi.org/{FOUNDING_DOI}"
    assert row["citation"]["year"] == 2020
    assert row["citation"]["authors"] == ["Example A", "Placeholder B"]


def test_a_hospital_case_is_never_in_the_atlas_not_even_for_a_curator(
    curator, founding, verified_hospital_case
):
    client = client_for(curator)
    assert str(verified_hospital_case.uuid) not in uuids(client.get(ATLAS))
    detail = client.get(f"{ATLAS}{verified_hospital_case.uuid}/")
    assert detail.status_code == 404
    assert detail["Content-Type"] == "application/problem+json"
    assert client.get(f"{ATLAS}{founding.uuid}/").status_code == 200


def test_unverified_published_cases_are_shown_to_curators_only(analyst, curator, founding):
    pending = literature_case("lit-pending", curator=curator, status=ReviewStatus.SUBMITTED)
    assert str(pending.uuid) not in uuids(client_for(analyst).get(ATLAS))
    assert client_for(analyst).get(f"{ATLAS}{pending.uuid}/").status_code == 404
    assert str(pending.uuid) in uuids(client_for(curator).get(ATLAS))


@pytest.mark.parametrize("persona", ["submitter_a", None])
def test_submitters_and_anonymous_visitors_are_refused_by_default(request, persona, founding):
    user = request.getfixturevalue(persona) if persona else None
    response = client_for(user).get(ATLAS)
    assert response.status_code in (401, 403)
    assert response["Content-Type"] == "application/problem+json"


def test_anonymous_visitors_read_the_atlas_where_the_registry_is_public(
    settings, founding, verified_hospital_case
):
    settings.REGISTRY_ATLAS_PUBLIC = True
    response = client_for(None).get(ATLAS)
    assert response.status_code == 200
    assert uuids(response) == [str(founding.uuid)]
    # Public means the atlas only: single hospital cases and statistics stay closed.
    assert client_for(None).get(f"/api/v1/cases/{verified_hospital_case.uuid}/").status_code == 401
    assert client_for(None).get("/api/v1/stats/").status_code == 401


def test_the_atlas_filters_by_site_at_every_level_and_by_primary(analyst, curator, founding):
    lung = literature_case(
        "lit-lung", curator=curator, primary_site="C34.1", primary_morphology="8140/3",
        metastases=[{"site": "C71.0", "morphology": "8140/6"}], treatments=[],
    )  # fmt: skip
    client = client_for(analyst)
    assert uuids(client.get(ATLAS, {"site": "C44.4"})) == [str(founding.uuid)]
    assert uuids(client.get(ATLAS, {"site_category": "C44"})) == [str(founding.uuid)]
    assert uuids(client.get(ATLAS, {"primary_category": "C34"})) == [str(lung.uuid)]
    assert uuids(client.get(ATLAS, {"site": "C44.3"})) == []


@pytest.mark.postgres
def test_full_text_search_covers_the_reports_and_the_case_notes(analyst, founding):
    client = client_for(analyst)
    # "cyst" is in the report's abstract; "nodules" stems to the note's "nodule".
    assert uuids(client.get(ATLAS, {"q": "cyst"})) == [str(founding.uuid)]
    assert uuids(client.get(ATLAS, {"q": "growing nodules"})) == [str(founding.uuid)]
    assert uuids(client.get(ATLAS, {"q": "melanoma"})) == []
    # websearch syntax: a stray quote or operator is a query, not an error.
    assert client.get(ATLAS, {"q": '"scalp -'}).status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        {"site": "C44"},  # a category in the code parameter
        {"site": "scalp"},
        {"primary_category": "C50.9"},
        {"institution": "hosp-a"},  # hospitals are not an atlas dimension
        {"q": "x" * 201},
    ],
)
def test_bad_atlas_parameters_are_400_naming_them(analyst, founding, query):
    response = client_for(analyst).get(ATLAS, query)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert set(query) <= fields_named(response)


def fields_named(response) -> set[str]:
    return {error["field"] for error in response.json()["errors"]}


def test_a_repeated_parameter_is_refused_rather_than_silently_narrowed(analyst, founding):
    response = client_for(analyst).get(f"{ATLAS}?site=C44.4&site=C71.0")
    assert response.status_code == 400


def test_an_atlas_page_costs_the_same_queries_at_one_row_and_at_many(
    analyst, curator, founding, django_assert_num_queries
):
    client = client_for(analyst)
    client.get(ATLAS)  # token lookups warmed
    with CaptureQueriesContext(connection) as one_row:
        client.get(ATLAS)
    for index in range(12):
        literature_case(f"lit-more-{index}", curator=curator, doi=FOUNDING_DOI)
    with django_assert_num_queries(len(one_row.captured_queries)):
        response = client.get(ATLAS)
    assert len(response.json()["results"]) == 13
    assert {row["citation"]["doi"] for row in response.json()["results"]} == {FOUNDING_DOI}
