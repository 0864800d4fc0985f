"""Attributable and bounded use of the statistics (issue 21 point 4), persona by persona.

Every analyst question is logged (who, when, which table; never the answer); one
request rate holds per person across API token and dashboard session; a daily
budget of distinct tables ends in a 429 problem naming it, with Retry-After.
"""

import datetime

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from registry.models import StatisticsQuery
from registry.services.statistics_log import normalised_parameters, statistics_query_record
from registry.statistics_use import differencing_pairs
from tests.api_helpers import client_for
from tests.factories import UserFactory
from tests.stats_helpers import STATS

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_counters():
    """Throttle counters live in the shared cache; each test starts with none."""
    cache.clear()
    yield
    cache.clear()


def session_for(user) -> Client:
    """The dashboard's way in: a signed-in browser session."""
    client = Client()
    client.force_login(user)
    return client


# ---------------------------------------------------------------- the log


def test_an_analysts_question_is_logged_with_its_normalised_filters_never_the_answer(analyst):
    response = client_for(analyst).get(STATS + "counts/", {"by": "sex", "sex": "female"})
    assert response.status_code == 200
    (logged,) = StatisticsQuery.objects.all()
    assert logged.user == analyst
    assert logged.endpoint == "counts"
    assert logged.parameters == {"by": ["sex"], "sex": ["female"]}
    assert logged.refused is False
    assert abs(logged.asked_at - timezone.now()) < datetime.timedelta(minutes=1)
    stored = {field.name for field in StatisticsQuery._meta.get_fields()}
    assert stored == {"id", "user", "asked_at", "day", "endpoint", "parameters"} | {
        "table_key",
        "refused",
    }


def test_one_table_has_one_key_by_json_csv_default_or_spelled_out(analyst):
    client = client_for(analyst)
    for params in ({}, {"group_by": "site_group"}, {"format": "csv"}):
        assert client.get(STATS, params).status_code == 200
    assert client.get(STATS + "sites.csv").status_code == 200
    assert client.get(STATS, {"group_by": "code"}).status_code == 200
    keys = list(StatisticsQuery.objects.order_by("pk").values_list("table_key", flat=True))
    assert len(set(keys[:4])) == 1
    assert keys[4] != keys[0]


def test_normalised_parameters_sort_names_and_values():
    given = {"site": ("C50.9", "C44.4"), "by": "sex", "period": None, "bands": (0, 50, 70)}
    assert normalised_parameters(given) == {
        "bands": ["0", "50", "70"],
        "by": ["sex"],
        "site": ["C44.4", "C50.9"],
    }


def test_curators_questions_are_not_logged(curator):
    assert client_for(curator).get(STATS + "counts/", {"by": "sex"}).status_code == 200
    assert not StatisticsQuery.objects.exists()


@pytest.mark.parametrize("persona", ["submitter_a", "submitter_b"])
def test_submitters_cannot_reach_the_statistics_nor_the_log(request, persona):
    user = request.getfixturevalue(persona)
    response = client_for(user).get(STATS + "counts/", {"by": "sex"})
    assert response.status_code == 403
    assert not StatisticsQuery.objects.exists()


def test_a_refused_question_for_a_curators_filter_is_not_a_table(analyst):
    response = client_for(analyst).get(STATS, {"institution": "synth-01"})
    assert response.status_code == 400
    assert not StatisticsQuery.objects.exists()


def test_logging_a_question_is_one_statement(analyst):
    client = client_for(analyst)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(STATS + "counts/", {"by": "sex"}).status_code == 200
    touching = [q["sql"] for q in captured if "registry_statisticsquery" in q["sql"]]
    assert len(touching) == 1 and touching[0].startswith("INSERT")


# ---------------------------------------------------------------- the daily budget


@override_settings(REGISTRY_ANALYST_DAILY_TABLES=2)
def test_past_the_daily_budget_a_new_table_is_a_429_naming_it(analyst):
    client = client_for(analyst)
    assert client.get(STATS, {"group_by": "code"}).status_code == 200
    assert client.get(STATS, {"group_by": "category"}).status_code == 200
    refused = client.get(STATS, {"group_by": "site_group"})
    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/problem+json"
    problem = refused.json()
    assert problem["code"] == "daily_table_budget"
    assert (
        "REGISTRY_ANALYST_DAILY_TABLES" in problem["detail"] and "2 distinct" in problem["detail"]
    )
    wait = int(refused["Retry-After"])
    midnight = datetime.datetime.combine(
        timezone.now().date() + datetime.timedelta(days=1), datetime.time(), datetime.UTC
    )
    assert 0 < wait <= (midnight - timezone.now()).total_seconds() + 1
    # A table already asked today still answers: asking again tells nothing new.
    assert client.get(STATS, {"group_by": "code"}).status_code == 200
    assert StatisticsQuery.objects.filter(refused=True).count() == 1


@override_settings(REGISTRY_ANALYST_DAILY_TABLES=2)
def test_the_budget_is_the_persons_across_token_and_session(analyst):
    assert client_for(analyst).get(STATS, {"group_by": "code"}).status_code == 200
    assert session_for(analyst).get(STATS, {"group_by": "category"}).status_code == 200
    assert client_for(analyst).get(STATS, {"group_by": "site_group"}).status_code == 429
    assert session_for(analyst).get(STATS + "counts/", {"by": "sex"}).status_code == 429


@override_settings(REGISTRY_ANALYST_DAILY_TABLES=1)
def test_one_analysts_budget_is_not_anothers(analyst):
    other = UserFactory(username="analyst-2", role=analyst.role, institution=None)
    assert client_for(analyst).get(STATS, {"group_by": "code"}).status_code == 200
    assert client_for(other).get(STATS, {"group_by": "category"}).status_code == 200
    assert client_for(analyst).get(STATS, {"group_by": "category"}).status_code == 429


@override_settings(REGISTRY_ANALYST_DAILY_TABLES=1)
def test_curators_have_no_table_budget(curator):
    client = client_for(curator)
    for level in ("code", "category", "site_group"):
        assert client.get(STATS, {"group_by": level}).status_code == 200


def test_yesterdays_tables_do_not_count_today(analyst):
    yesterday = timezone.now() - datetime.timedelta(days=1)
    for level in ("code", "category"):
        StatisticsQuery.objects.create(
            user=analyst,
            asked_at=yesterday,
            day=yesterday.astimezone(datetime.UTC).date(),
            endpoint="sites",
            parameters={"group_by": [level]},
            table_key=level,
        )
    record = statistics_query_record(
        user=analyst, endpoint="sites", parameters={"group_by": "site_group"}, budget=2
    )
    assert record.refused is False


# ---------------------------------------------------------------- one rate per person


@override_settings(API_STATISTICS_RATE_PER_PERSON="3/minute")
def test_token_and_session_share_one_rate(analyst):
    token, session = client_for(analyst), session_for(analyst)
    assert token.get(STATS).status_code == 200
    assert session.get(STATS).status_code == 200
    assert token.get(STATS).status_code == 200
    throttled = session.get(STATS)
    assert throttled.status_code == 429
    assert throttled["Content-Type"] == "application/problem+json"
    assert int(throttled["Retry-After"]) > 0
    # A second token of the same person is the same person.
    assert client_for(analyst).get(STATS).status_code == 429


@override_settings(API_STATISTICS_RATE_PER_PERSON="2/minute")
def test_one_persons_rate_is_not_anothers(analyst, curator):
    client = client_for(analyst)
    assert [client.get(STATS).status_code for _ in range(3)] == [200, 200, 429]
    assert client_for(curator).get(STATS).status_code == 200


# ---------------------------------------------------------------- the curators' page

USE_PAGE = "/admin/registry/statisticsquery/use/"


def logged(user, endpoint: str, **parameters) -> None:
    statistics_query_record(user=user, endpoint=endpoint, parameters=parameters, budget=10**6)


def test_differencing_pairs_are_tables_one_filter_apart(analyst):
    logged(analyst, "sites", group_by="code", primary=["C50.9", "C34.1"])
    logged(analyst, "sites", group_by="code", primary=["C34.1"])  # padded union
    logged(analyst, "sites", group_by="code", primary=["C34.1"], sex="female")  # added
    logged(analyst, "sites", group_by="category", primary=["C34.1"])  # other options: apart
    logged(analyst, "counts", by="sex", period="2015")
    logged(analyst, "counts", by="sex", period="2016")  # other value
    logged(analyst, "counts", by="age_band", period="2017")  # two apart: not a pair
    pairs = differencing_pairs(user=analyst)
    found = {(p.endpoint, p.filter, tuple(p.one), tuple(p.other), p.kind) for p in pairs}
    assert found == {
        ("sites", "primary", ("C34.1",), ("C34.1", "C50.9"), "one value more"),
        ("sites", "sex", (), ("female",), "added"),
        ("counts", "period", ("2015",), ("2016",), "other value"),
    }


def test_the_use_page_shows_volume_and_pairs_to_curators(curator_in_admin, analyst):
    client = client_for(analyst)
    for period in ("2015", "2016"):
        assert client.get(STATS + "counts/", {"by": "sex", "period": period}).status_code == 200
    assert client.get(STATS + "counts/", {"by": "sex", "period": "2015"}).status_code == 200
    page = curator_in_admin.get(USE_PAGE)
    assert page.status_code == 200
    text = page.content.decode()
    assert "analyst" in text and "other value" in text
    (volume,) = page.context["volume"]
    assert (volume.questions, volume.tables, volume.refused) == (3, 2, 0)
    listing = curator_in_admin.get("/admin/registry/statisticsquery/")
    assert listing.status_code == 200 and USE_PAGE in listing.content.decode()


@pytest.mark.parametrize("persona", ["analyst", "submitter_a"])
def test_only_curators_see_the_use_page(request, client, persona):
    user = request.getfixturevalue(persona)
    user.is_staff = True  # even staff status does not open it
    user.save()
    client.force_login(user)
    assert client.get(USE_PAGE).status_code in (302, 403)
    assert client.get("/admin/registry/statisticsquery/").status_code in (302, 403)


def test_the_log_cannot_be_changed_in_the_admin(curator_in_admin, analyst):
    logged(analyst, "sites", group_by="code")
    entry = StatisticsQuery.objects.get()
    change = f"/admin/registry/statisticsquery/{entry.pk}/delete/"
    assert curator_in_admin.post(change, {"post": "yes"}).status_code == 403
    assert StatisticsQuery.objects.filter(pk=entry.pk).exists()


@override_settings(API_STATISTICS_RATE_PER_PERSON="1/minute")
def test_curators_are_not_held_to_the_analysts_rate(curator):
    client = client_for(curator)
    assert [client.get(STATS).status_code for _ in range(3)] == [200, 200, 200]
