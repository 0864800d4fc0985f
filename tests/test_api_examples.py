"""The OpenAPI response examples (api/examples/*.json) are what the server sends.

The examples were captured on `manage.py synth --cases 2000 --seed 1` with the founding
case, released as 2026.1 (what analysts count). Here the same data is built, each
example's call is made again with its persona's token, and the answer is compared with
the file: the same keys in the same order, the same nesting and types everywhere, and
the same values where they are deterministic.
Curators' counts are exact, so every value is compared. An analyst's counts are
perturbed by the cases' record keys, drawn at random when a case is stored: here they
are set from the cases' keys instead, so that which numbers the keyed jitter hides is
the same on every run; a shown number is still compared by its type only.

`REGISTRY_REWRITE_EXAMPLES=1` writes the live answers into the files instead: the way to
capture them anew after a deliberate change, to be read in the diff before committing.
"""

import csv
import io
import json
import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction

from api.examples import CSV, ResponseExample, every_example
from api.schema_examples import BATCH_EXAMPLES
from tests.api_helpers import client_for

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

EXAMPLES = every_example()
FOUNDING_CASE = Path(settings.BASE_DIR) / "seeds" / "cases" / "founding_case.json"
REWRITE = os.environ.get("REGISTRY_REWRITE_EXAMPLES") == "1"
# Values drawn afresh on every write or request: compared by type, like an analyst's counts.
# (A live count is dated by its request; a release's answer by the release, to the byte.)
DRAWN_AFRESH = {"uuid", "generated_at", "provenance"}
# The request bodies of the examples that send one: the operation's own request example.
REQUESTS = {"POST /api/v1/cases/batch/": BATCH_EXAMPLES[0].value}


@pytest.fixture(scope="module")
def captured_registry(django_db_setup, django_db_blocker):
    """The registry the statistics examples were captured on, for every test of this module."""
    quiet = io.StringIO()
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("synth", cases=2000, seed=1, stdout=quiet, stderr=quiet)
        call_command("load_cases", str(FOUNDING_CASE), stdout=quiet)
        # Record keys are drawn at random when a case is stored; here they come from the
        # cases' own keys instead, so that an analyst's numbers, and which of them the keyed
        # jitter hides, are the same on every run (the trigger copies them to the counted rows).
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE registry_case SET record_key = "
                "('x' || substr(md5(local_id), 1, 3))::bit(12)::int"
            )
        # Analysts count a release, as in any registry past its first one.
        call_command("release", "create", "--name", "2026.1", stdout=quiet)
        yield
        transaction.set_rollback(True)


@pytest.fixture
def personas(captured_registry, analyst, curator, submitter_a) -> dict:
    return {"analyst": analyst, "curator": curator, "submitter": submitter_a}


def live_answer(example: ResponseExample, user) -> dict | list[str]:
    client = client_for(user)
    if example.method == "POST":
        response = client.post(example.url, REQUESTS[example.call], format="json")
    else:
        response = client.get(example.url)
    assert response.status_code < 300, response.content
    assert response["Content-Type"].split(";")[0] == example.media_type
    if example.media_type == CSV:
        text = response.content.decode()
        assert text.endswith("\r\n"), "CSV lines end with CRLF"
        return text.removesuffix("\r\n").split("\r\n")
    return response.json()


def drift(example, live, *, exact: bool, where: str = "$") -> list[str]:
    """Where `live` differs from `example`: keys, nesting, types, and values where `exact`."""
    if isinstance(example, dict):
        if not isinstance(live, dict):
            return [f"{where}: an object in the example, {live!r} live"]
        if list(example) != list(live):
            return [f"{where}: keys {list(example)} in the example, {list(live)} live"]
        return [
            found
            for key, value in example.items()
            for found in drift(
                value, live[key], exact=exact and key not in DRAWN_AFRESH, where=f"{where}.{key}"
            )
        ]
    if isinstance(example, list):
        if not isinstance(live, list) or len(live) != len(example):
            return [f"{where}: {len(example)} items in the example, {live!r} live"]
        return [
            found
            for index, (value, answer) in enumerate(zip(example, live, strict=True))
            for found in drift(value, answer, exact=exact, where=f"{where}[{index}]")
        ]
    if type(example) is not type(live):
        return [f"{where}: {example!r} in the example, {live!r} live"]
    if (exact or isinstance(example, bool)) and example != live:
        return [f"{where}: {example!r} in the example, {live!r} live"]
    return []


def comment_names(lines: list[str]) -> list[str]:
    """The names of the `# name: value` provenance lines above a CSV's header."""
    return [line.split(":", 1)[0] for line in lines if line.startswith("#")]


def without_comments(lines: list[str]) -> list[str]:
    return [line for line in lines if not line.startswith("#")]


def csv_fields(lines: list[str]) -> list[dict]:
    """CSV lines as JSON-like rows, so that the same comparison serves both media types."""
    return [
        {key: _typed(value) for key, value in row.items()}
        for row in csv.DictReader(io.StringIO("\n".join(lines)))
    ]


def _typed(field: str):
    if field in ("true", "false"):
        return field == "true"
    for kind in (int, float):
        try:
            return kind(field)
        except ValueError:
            pass
    return field or None


@pytest.mark.parametrize("example", EXAMPLES, ids=[example.path.stem for example in EXAMPLES])
def test_the_example_is_what_the_server_sends(example, personas):
    live = live_answer(example, personas[example.persona])
    if REWRITE:
        captured = json.loads(example.path.read_text(encoding="utf-8"))
        captured["response"] = live
        text = json.dumps(captured, indent=2, ensure_ascii=False)
        example.path.write_text(text + "\n", encoding="utf-8")
        return
    exact = example.persona != "analyst"
    if example.media_type == CSV:
        assert comment_names(live) == comment_names(example.response), "the provenance lines"
        table, live_table = without_comments(example.response), without_comments(live)
        assert live_table[0] == table[0], "the CSV header"
        found = drift(csv_fields(table), csv_fields(live_table), exact=exact)
    else:
        found = drift(example.response, live, exact=exact)
    assert not found, f"{example.path.name} has drifted from the server:\n" + "\n".join(found)


def test_every_example_is_in_the_schema_under_the_operation_its_call_names(db, curator):
    schema = client_for(curator).get("/api/schema/", {"format": "json"}).json()
    for example in EXAMPLES:
        operation = schema["paths"][urlsplit(example.url).path][example.method.lower()]
        documented = [
            shown["value"]
            for status, response in operation["responses"].items()
            if status.startswith("2")
            for shown in response["content"][example.media_type].get("examples", {}).values()
        ]
        assert example.body in documented, example.path.name
