"""The data dictionary agrees with what the server does: validation, the schema, the dashboard.

It is generated from the same declarations, so these tests catch the day one of
them stops being the source: a value the dictionary lists that the API refuses,
a filter the schema does not document, a menu offering what the dictionary does not.
"""

import re

import pytest
from django.conf import settings

from registry.access import ANALYST_FILTERS
from registry.stats import Dimension
from tests.api_helpers import client_for

pytestmark = pytest.mark.django_db

COUNTS = "/api/v1/stats/counts.csv"


@pytest.fixture
def dictionary(client):
    response = client.get("/api/v1/dictionary/")
    assert response.status_code == 200  # public: no sign-in
    return response.json()


def closed_filters(dictionary) -> dict[str, list[str]]:
    return {f["name"]: f["values"] for f in dictionary["filters"]["analysts"] if f["values"]}


def test_every_dimension_and_only_those_is_described(dictionary):
    assert [d["name"] for d in dictionary["dimensions"]] == [d.value for d in Dimension]
    for dimension in dictionary["dimensions"]:
        assert dimension.get("values") or dimension.get("values_from"), dimension["name"]


def test_the_analysts_filters_are_the_policys(dictionary):
    assert {f["name"] for f in dictionary["filters"]["analysts"]} == set(ANALYST_FILTERS)
    assert "q" in dictionary["filters"]["curators_only"]
    assert "institution" in dictionary["filters"]["curators_only"]


def test_every_listed_value_of_a_filter_is_accepted_for_analysts(dictionary, analyst):
    client = client_for(analyst)
    for name, values in closed_filters(dictionary).items():
        for value in values:
            response = client.get(COUNTS, {"by": "sex", name: value})
            assert response.status_code == 200, (name, value, response.content)


def test_a_value_the_dictionary_does_not_list_is_refused(dictionary, analyst):
    client = client_for(analyst)
    for name in closed_filters(dictionary):
        response = client.get(COUNTS, {"by": "sex", name: "not-in-the-dictionary"})
        assert response.status_code == 400, name
        assert response.json()["errors"][0]["field"] == name


def test_every_curators_filter_is_refused_to_analysts(dictionary, analyst):
    client = client_for(analyst)
    examples = {"q": "C44", "institution": "hosp-a", "age_min": "40", "age_max": "60"}
    examples |= {"year_min": "2010", "year_max": "2020"}
    for name in dictionary["filters"]["curators_only"]:
        response = client.get(COUNTS, {"by": "sex", name: examples[name]})
        assert response.status_code == 400, name


def test_every_dimension_is_a_grouping_the_api_takes(dictionary, analyst):
    client = client_for(analyst)
    for dimension in dictionary["dimensions"]:
        response = client.get(COUNTS, {"by": dimension["name"]})
        assert response.status_code == 200, dimension["name"]
    assert client.get(COUNTS, {"by": "no_such_dimension"}).status_code == 400


def test_published_bands_and_periods_are_accepted_and_others_refused(dictionary, analyst):
    client = client_for(analyst)
    for scheme in dictionary["age_band_schemes"]:
        for band in scheme["bands"]:
            assert client.get(COUNTS, {"by": "sex", "age_band": band["key"]}).status_code == 200
        bands = ",".join(map(str, scheme["lower_bounds"]))
        assert client.get(COUNTS, {"by": "age_band", "bands": bands}).status_code == 200
    for period in dictionary["periods"][:3]:
        assert client.get(COUNTS, {"by": "sex", "period": period}).status_code == 200
    assert client.get(COUNTS, {"by": "sex", "period": "2016-2020"}).status_code == 400
    assert client.get(COUNTS, {"by": "age_band", "bands": "0,45"}).status_code == 400


def test_the_protection_parameters_are_the_settings(dictionary):
    protection = dictionary["protection"]
    assert protection["threshold"] == settings.REGISTRY_MIN_CELL_COUNT
    assert (protection["noise_min"], protection["noise_max"]) == (-2, 2)
    assert sum(item["share"] for item in protection["noise"]) == pytest.approx(1)


def test_the_hierarchy_rolls_codes_up_to_categories_and_groups(dictionary):
    topography = dictionary["vocabularies"]["topography"]
    scalp = next(row for row in topography if row["code"] == "C44.4")
    assert (scalp["category"], scalp["site_group"]) == ("C44", "Skin")
    for row in topography:
        assert row["code"].startswith(row["category"] + ".")


def test_the_schema_documents_every_filter_and_value_the_dictionary_lists(dictionary, curator):
    schema = client_for(curator).get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/stats/counts/"]["get"]
    parameters = {p["name"]: p["schema"] for p in operation["parameters"]}

    def resolved(found: dict) -> dict:
        if "$ref" in found:
            return schema["components"]["schemas"][found["$ref"].rsplit("/", 1)[1]]
        return found

    for name, values in closed_filters(dictionary).items():
        assert name in parameters, name
        enum = resolved(parameters[name].get("items", parameters[name])).get("enum")
        if name != "status":  # the schema lists every status; analysts may send verified
            assert enum == values, name
    assert resolved(parameters["by"])["enum"] == [d["name"] for d in dictionary["dimensions"]]
    assert "release" in parameters


def test_the_dashboard_menus_offer_what_the_dictionary_lists(dictionary, analyst, client):
    client.force_login(analyst)
    page = client.get("/dashboard/").content.decode()

    def options(select_id: str) -> list[str]:
        block = re.search(rf'<select id="{select_id}".*?</select>', page, re.S).group(0)
        return [v for v in re.findall(r'<option value="([^"]*)"', block) if v]

    dimensions = {d["name"]: d for d in dictionary["dimensions"]}
    assert options("f-sex") == [v["key"] for v in dimensions["sex"]["values"]]
    all_bands = [b["key"] for s in dictionary["age_band_schemes"] for b in s["bands"]]
    assert options("f-age-band") == all_bands
    assert options("f-period") == dictionary["periods"]
    subtypes = {row["code"] for row in dictionary["vocabularies"]["subtypes"]}
    assert set(options("f-subtype")) == subtypes


def test_the_dictionary_lists_the_releases(dictionary, client, db):
    from registry.services.releases import release_create
    from tests.test_releases import add_cases

    add_cases(11)
    release_create(name="2026.1")
    again = client.get("/api/v1/dictionary/").json()
    assert [r["name"] for r in again["releases"]] == ["2026.1"]


def test_the_dictionary_page_is_readable_html(client, db):
    response = client.get("/dictionary/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "Skin of scalp and neck" in text and 'id="dimension-site_group"' in text


def test_a_filter_listed_for_one_value_refuses_a_list(dictionary, analyst):
    """The dictionary says how analysts may use each filter, and the API holds to it."""
    client = client_for(analyst)
    listed = closed_filters(dictionary)
    one_value = [
        f["name"]
        for f in dictionary["filters"]["analysts"]
        if f["use"] == "one value" and len(listed.get(f["name"], [])) >= 2
    ]
    assert one_value, "no closed one-value filter described"
    for name in one_value:
        first, second = listed[name][:2]
        assert client.get(COUNTS, {"by": "sex", name: first}).status_code == 200, name
        assert client.get(COUNTS, {"by": "sex", name: f"{first},{second}"}).status_code == 400


def test_the_hiding_jitter_is_published_with_the_threshold(dictionary):
    from registry.disclosure import HIDING_JITTER

    assert dictionary["protection"]["hiding_jitter_max"] == HIDING_JITTER > 0
