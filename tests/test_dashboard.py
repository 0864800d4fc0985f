"""The dashboard page: who may open it (the statistics' rule) and what it loads."""

import re

import pytest

pytestmark = pytest.mark.django_db

DASHBOARD = "/dashboard/"


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get(DASHBOARD)

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/dashboard/"
    assert client.get("/accounts/login/").status_code == 200


def test_hospital_accounts_are_sent_to_their_cases_not_the_statistics(client, submitter_a):
    client.force_login(submitter_a)

    response = client.get(DASHBOARD)
    assert response.status_code == 302 and response["Location"] == "/hospital/"
    assert client.get("/api/v1/stats/").status_code == 403


@pytest.mark.parametrize("persona", ["analyst", "curator"])
def test_analysts_and_curators_open_it_with_local_scripts_only(client, request, persona):
    client.force_login(request.getfixturevalue(persona))

    response = client.get(DASHBOARD)

    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/dashboard/vendor/chart.umd.min.js" in page
    assert "/static/dashboard/dashboard.js" in page
    # No script, style or font from elsewhere (a random CSRF token may spell "cdn").
    assert not re.search(r'(src|href)="(https?:)?//', page) and "https://" not in page
    assert 'option value="triple_negative"' in page  # subtypes from the vocabulary


def test_only_curators_choose_a_review_status(client, analyst, curator):
    client.force_login(analyst)
    assert 'name="status" disabled' in client.get(DASHBOARD).content.decode()

    client.force_login(curator)
    assert 'option value="submitted"' in client.get(DASHBOARD).content.decode()


def test_a_curator_starts_on_verified_cases_and_chooses_rejected_ones_explicitly(client, curator):
    client.force_login(curator)
    page = client.get(DASHBOARD).content.decode()
    assert '<option value="verified" selected>' in page
    # Counting every status, rejected cases included, is an option that says so.
    assert '<option value="">All, rejected included</option>' in page


def test_the_login_form_signs_an_analyst_in_and_lands_on_the_dashboard(client, analyst):
    analyst.set_password("a-long-test-password")
    analyst.save()

    response = client.post(
        "/accounts/login/", {"username": "analyst", "password": "a-long-test-password"}
    )

    assert response.status_code == 302 and response["Location"] == DASHBOARD
    assert client.get(DASHBOARD).status_code == 200


def test_the_static_files_are_served(client):
    for path in (
        "dashboard.js",
        "profile.js",
        "stats-api.js",
        "dashboard.css",
        "vendor/chart.umd.min.js",
    ):
        response = client.get(f"/static/dashboard/{path}")
        assert response.status_code == 200, path
        b"".join(response.streaming_content)
