"""The vocabulary lists: `q` by code prefix or title words, exact grouping filters."""

import pytest

from tests.api_helpers import client_for

VOCABULARIES = "/api/v1/vocabularies/"


@pytest.fixture
def api(analyst):
    return client_for(analyst)


def codes(response) -> set[str]:
    assert response.status_code == 200, response.content[:300]
    return {row["code"] for row in response.json()["results"]}


def test_q_finds_a_code_prefix_or_words_of_the_title(api):
    assert codes(api.get(VOCABULARIES + "topography/", {"q": "c44.4"})) == {"C44.4"}
    assert "C44.4" in codes(api.get(VOCABULARIES + "topography/", {"q": "scalp"}))
    assert codes(api.get(VOCABULARIES + "topography/", {"q": "C44"})) >= {"C44.0", "C44.9"}


def test_grouping_columns_filter_exactly(api):
    skin = codes(api.get(VOCABULARIES + "topography/", {"site_group": "Skin"}))
    assert "C44.4" in skin and not any(code.startswith("C50") for code in skin)
    assert codes(api.get(VOCABULARIES + "topography/", {"category": "C50"})) >= {"C50.9"}
    assert codes(api.get(VOCABULARIES + "subtypes/", {"family": "breast"})) >= {"triple_negative"}
    metastatic = codes(api.get(VOCABULARIES + "morphology/", {"behaviour": 6}))
    assert metastatic and all(code.endswith("/6") for code in metastatic)


@pytest.mark.parametrize("value", ["x", "7"])
def test_a_behaviour_outside_the_schemas_enum_is_a_400_naming_it(api, value):
    response = api.get(VOCABULARIES + "morphology/", {"behaviour": value})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert [error["field"] for error in response.json()["errors"]] == ["behaviour"]
