"""Health probes: /healthz needs only the process, /readyz also the database."""

import json

import pytest

from tests.api_helpers import run_without_database

# Runs in a fresh interpreter whose DATABASE_URL names a closed port: a real outage.
PROBE_WITHOUT_DATABASE = """
import json
import django
django.setup()
from django.test import Client
client = Client()
print(json.dumps({
    path: {
        "status": response.status_code,
        "content_type": response["Content-Type"],
        "body": json.loads(response.content),
    }
    for path in ("/healthz", "/readyz")
    for response in [client.get(path)]
}))
"""


def test_healthz_answers_without_touching_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_answers_when_the_database_is_up(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def test_readyz_is_503_problem_json_when_the_database_is_unreachable():
    probes = run_without_database(PROBE_WITHOUT_DATABASE)

    assert probes["/healthz"]["status"] == 200
    ready = probes["/readyz"]
    assert ready["status"] == 503
    assert ready["content_type"] == "application/problem+json"
    assert ready["body"]["status"] == 503
    assert ready["body"]["title"] == "Service Unavailable"
    assert ready["body"]["code"] == "database_unavailable"  # as a 503 from any API view
    assert "Traceback" not in json.dumps(ready["body"])
