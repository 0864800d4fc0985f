"""What a newcomer meets first: the landing page, the API index, unknown URLs,
institutions and tokens from the command line, and one-line configuration errors."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from registry.models import Institution, Role
from registry.services.tokens import token_authenticate
from tests.api_helpers import client_for

MANAGE = os.path.join(settings.BASE_DIR, "manage.py")


def run(*args, **options) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, **options)
    return out.getvalue()


# ---------------------------------------------------------------- landing page and API index


def test_the_landing_page_links_to_docs_admin_dashboard_and_health(client):
    response = client.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    for link in ("/api/docs/", "/api/redoc/", "/api/schema/", "/api/v1/", "/admin/"):
        assert f'href="{link}"' in page, link
    for link in ("/dashboard/", "/healthz", "/readyz"):
        assert f'href="{link}"' in page, link


def test_the_api_index_lists_every_resource_without_a_token(client):
    response = client.get("/api/v1/")
    assert response.status_code == 200
    names = {resource["name"] for resource in response.json()["resources"]}
    assert {"cases", "cases/batch", "stats", "stats/counts", "fhir/Bundle"} <= names
    assert {"stats/survival", "stats/site-shares", "stats/profile", "stats/sites.csv"} <= names
    for resource in response.json()["resources"]:
        assert resource["url"].startswith("http://testserver/api/v1/")
    # Every operation of the schema without a path parameter is in the index (those with
    # one are reached from a listed resource: a case from cases, a code from its list).
    listed = {
        resource["url"].removeprefix("http://testserver")
        for resource in response.json()["resources"]
    }
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    unlisted = {path for path in schema["paths"] if "{" not in path} - listed
    assert not unlisted, f"not in the index of /api/v1/: {sorted(unlisted)}"


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_unknown_api_urls_are_problems_in_every_mode(client, settings, debug, method):
    settings.DEBUG = debug
    response = getattr(client, method)("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"


def test_a_missing_slash_is_named_in_the_problem(client):
    response = client.get("/api/v1/cases")
    assert response.status_code == 404
    assert "did you mean /api/v1/cases/ ?" in response.json()["detail"]


# ---------------------------------------------------------------- institutions


def test_institutions_are_created_listed_and_deactivated(db):
    assert "hosp-a: created (Hospital A)" in run(
        "institution", "create", "hosp-a", "--name", "Hospital A", "--country", "fr"
    )
    assert Institution.objects.get(code="hosp-a").country == "FR"
    assert "hosp-a: updated (Hôpital A)" in run(
        "institution", "create", "hosp-a", "--name", "Hôpital A", "--country", "FR"
    )
    listing = run("institution", "list")
    assert "hosp-a" in listing and "active" in listing and "0 cases" in listing

    assert "hosp-a: inactive" in run("institution", "deactivate", "hosp-a")
    assert not Institution.objects.get(code="hosp-a").is_active
    assert "inactive" in run("institution", "list")
    assert "hosp-a: active" in run("institution", "activate", "hosp-a")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("create", "hosp a", "--name", "Spaces"), "code"),
        (("create", "hosp-x", "--name", "Bad country", "--country", "France"), "country"),
        (("deactivate", "nowhere"), "Unknown institution 'nowhere'"),
    ],
)
def test_institution_refuses_what_it_cannot_store(db, args, message):
    with pytest.raises(CommandError, match=message):
        run("institution", *args)


# ---------------------------------------------------------------- tokens as the README shows them


def test_issue_token_for_a_curator_or_analyst_needs_no_user(db):
    for role in (Role.CURATOR, Role.ANALYST):
        raw = run("issue_token", role=role, raw=True).strip()
        token = token_authenticate(raw)
        assert (token.user.username, token.user.role) == (f"registry-{role}", role)
        assert token.user.institution is None


def test_issue_token_raw_prints_the_token_alone_for_scripts(hospital_a):
    output = run("issue_token", institution="hosp-a", role="submitter", raw=True)
    assert output.count("\n") == 1
    assert token_authenticate(output.strip()).user.institution == hospital_a


def test_the_demo_hospital_has_a_case_to_list(db):
    output = run("demo_accounts")
    raw = next(word for word in output.split() if word.startswith("rmr_"))
    system = token_authenticate(raw).user
    listed = client_for(system).get("/api/v1/cases/")
    assert [case["local_id"] for case in listed.json()["results"]] == ["demo-000001"]
    assert "demo-hospital/demo-000001" in output
    # A second run keeps the one case, unchanged.
    run("demo_accounts")
    assert system.institution.cases.count() == 1


# ---------------------------------------------------------------- configuration errors


def manage(*args, **environment) -> subprocess.CompletedProcess:
    keep = {"PATH", "HOME", "LANG", "DATABASE_URL"}
    env = {k: v for k, v in os.environ.items() if k in keep} | environment
    return subprocess.run(
        [sys.executable, MANAGE, *args],
        env=env,
        cwd="/",  # no .env.local of a local checkout is read from here (it is beside manage.py)
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_missing_secret_key_is_one_line_that_says_what_to_set(tmp_path, monkeypatch):
    monkeypatch.setattr("tests.test_newcomer.MANAGE", _copy_of_manage(tmp_path))
    done = manage("issue_token", "--role", "curator")
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert done.stderr.startswith("error: Set SECRET_KEY")
    assert "DEBUG=true" in done.stderr and "Traceback" not in done.stderr


def test_a_bad_boolean_is_one_line_naming_the_variable(tmp_path, monkeypatch):
    monkeypatch.setattr("tests.test_newcomer.MANAGE", _copy_of_manage(tmp_path))
    done = manage("check", DEBUG="maybe")
    assert done.returncode != 0
    assert done.stderr.strip() == (
        "error: DEBUG='maybe' is not a boolean; use one of "
        "['0', '1', 'false', 'no', 'off', 'on', 'true', 'yes']."
    )


def test_manage_py_reads_the_local_env_file_and_the_environment_wins(tmp_path, monkeypatch):
    sys.path.insert(0, str(settings.BASE_DIR))
    try:
        import manage
    finally:
        sys.path.remove(str(settings.BASE_DIR))
    local = tmp_path / ".env.local"
    local.write_text(
        "# written by make run\nREGISTRY_TEST_A=from-file\nREGISTRY_TEST_B=from-file\n"
    )
    monkeypatch.delenv("REGISTRY_TEST_A", raising=False)
    monkeypatch.delenv("REGISTRY_LOCAL_ENV")
    monkeypatch.setenv("REGISTRY_TEST_B", "from-environment")
    manage.read_local_env(local)
    assert os.environ["REGISTRY_TEST_A"] == "from-file"
    assert os.environ["REGISTRY_TEST_B"] == "from-environment"
    monkeypatch.delenv("REGISTRY_TEST_A")


def test_a_command_a_test_runs_ignores_what_make_run_left_behind(tmp_path):
    # `make run` then `make test`: the DEBUG=true of .env.local must not reach the
    # manage.py that tests start (check --deploy would then warn about DEBUG).
    script = _copy_of_manage(tmp_path)
    (tmp_path / ".env.local").write_text("DEBUG=true\nREGISTRY_TEST_A=from-file\n")
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "REGISTRY_TEST_A"}}
    shell = "import os; print(os.environ.get('REGISTRY_TEST_A'))"
    done = subprocess.run(
        [sys.executable, script, "shell", "--no-imports", "-c", shell],
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings_test"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "None"
    # The same file outside the tests is read: the switch is what makes the difference.
    done = subprocess.run(
        [sys.executable, script, "shell", "--no-imports", "-c", shell],
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings_test", "REGISTRY_LOCAL_ENV": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.strip() == "from-file", done.stderr


def _copy_of_manage(tmp_path) -> str:
    """manage.py beside no .env.local, importing the project from the real checkout."""
    script = tmp_path / "manage.py"
    source = Path(MANAGE).read_text()
    script.write_text(f"import sys; sys.path.insert(0, {str(settings.BASE_DIR)!r})\n" + source)
    return str(script)


def test_the_example_case_is_the_founding_case_request_the_seeds_ship():
    examples = Path(settings.BASE_DIR) / "examples"
    seed = Path(settings.BASE_DIR) / "seeds" / "cases" / "founding_case_request.json"
    case = json.loads((examples / "case.json").read_text())
    assert case == json.loads(seed.read_text())
    without = json.loads((examples / "case-without-local-id.json").read_text())
    assert without == {k: v for k, v in case.items() if k != "local_id"}
