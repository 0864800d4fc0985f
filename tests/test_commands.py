"""Management commands: demo accounts, token issue and revocation, idempotent loaders."""

import io
import json
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from registry.models import ApiToken, Case, Institution, Role, User
from registry.services.tokens import token_authenticate
from tests.factories import FOUNDING_SEED

RAW_TOKEN = re.compile(r"rmr_[A-Za-z0-9_-]{20,}")
PASSWORD = re.compile(r"username demo-curator\s+password (\S+)")


def run(*args, **options) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, **options)
    return out.getvalue()


def raw_token(output: str) -> str:
    tokens = set(RAW_TOKEN.findall(output))
    assert len(tokens) == 1, output
    return tokens.pop()


# ---------------------------------------------------------------- demo_accounts


def test_demo_accounts_prints_a_working_token_and_admin_login(db):
    output = run("demo_accounts")
    raw = raw_token(output)

    token = token_authenticate(raw)
    assert token is not None
    assert token.user.username == "demo-hospital-system"
    assert token.user.role == Role.SUBMITTER
    assert token.user.institution.code == "demo-hospital"
    assert "http://127.0.0.1:8000/admin/" in output
    assert f'curl -H "Authorization: Bearer {raw}" http://127.0.0.1:8000/api/v1/cases/' in output

    curator = User.objects.get(username="demo-curator")
    assert (curator.role, curator.is_staff, curator.is_superuser) == (Role.CURATOR, True, True)
    assert curator.check_password(PASSWORD.search(output).group(1))


def test_demo_accounts_twice_keeps_the_accounts_and_revokes_the_first_token(db):
    first = run("demo_accounts")
    second = run("demo_accounts")

    assert token_authenticate(raw_token(first)) is None
    assert token_authenticate(raw_token(second)) is not None
    assert Institution.objects.filter(code="demo-hospital").count() == 1
    assert User.objects.filter(username__startswith="demo-").count() == 2
    assert ApiToken.objects.filter(user__username="demo-hospital-system").count() == 2
    curator = User.objects.get(username="demo-curator")
    assert not curator.check_password(PASSWORD.search(first).group(1))
    assert curator.check_password(PASSWORD.search(second).group(1))
    institution = Institution.objects.get(code="demo-hospital")
    assert (institution.name, institution.country) == ("Demo Hospital", "GB")


# ---------------------------------------------------------------- issue_token and revoke_token


def test_issue_token_binds_the_token_to_institution_and_role(hospital_a):
    output = run("issue_token", institution="hosp-a", role="submitter", days=7)

    token = token_authenticate(raw_token(output))
    assert token.user.username == "hosp-a-submitter"
    assert token.user.role == Role.SUBMITTER
    assert token.user.institution == hospital_a
    assert token.expires_at is not None


def test_issue_token_reuses_the_account(hospital_a):
    first = token_authenticate(raw_token(run("issue_token", institution="hosp-a", role="analyst")))
    second = token_authenticate(raw_token(run("issue_token", institution="hosp-a", role="analyst")))
    assert first.user == second.user
    assert first.user.role == Role.ANALYST


def test_issue_token_for_a_named_curator_without_institution(db):
    output = run("issue_token", role="curator", user="registry-curator", name="review bot")
    token = token_authenticate(raw_token(output))
    assert (token.user.username, token.user.role, token.user.institution) == (
        "registry-curator",
        Role.CURATOR,
        None,
    )
    assert token.name == "review bot"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"institution": "nowhere", "role": "submitter"}, "Unknown institution 'nowhere'"),
        ({"institution": "hosp-a", "role": "admin"}, "Unknown role 'admin'"),
        ({"role": "submitter", "user": "lost"}, "give --institution"),
    ],
)
def test_issue_token_rejects_bad_arguments(hospital_a, options, message):
    with pytest.raises(CommandError, match=message):
        run("issue_token", **options)
    assert not ApiToken.objects.exists()


def test_issue_token_will_not_move_an_existing_account(submitter_a, hospital_b):
    with pytest.raises(CommandError, match="exists as submitter of hosp-a"):
        run("issue_token", institution="hosp-b", role="submitter", user="submitter-a")


def test_revoke_token_by_prefix(hospital_a):
    raw = raw_token(run("issue_token", institution="hosp-a", role="submitter"))
    prefix = token_authenticate(raw).prefix

    assert "revoked" in run("revoke_token", prefix=prefix)
    assert token_authenticate(raw) is None
    with pytest.raises(CommandError, match="No API token"):
        run("revoke_token", prefix="rmr_unknown0")


# ---------------------------------------------------------------- loaders


def test_load_vocabularies_twice_changes_nothing_the_second_time(db):
    run("load_vocabularies")
    second = run("load_vocabularies").splitlines()

    assert len(second) == 3, second
    for line in second:
        assert re.search(r": 0 created, 0 updated, [1-9]\d* unchanged$", line), line


def test_load_cases_replaces_a_changed_case_like_put_by_local_id(db, tmp_path):
    run("load_cases", str(FOUNDING_SEED))
    seed = json.loads(FOUNDING_SEED.read_text())
    seed["cases"][0]["age_at_diagnosis"] = 57
    seed["cases"][0]["local_id"] = seed["cases"][0]["local_id"].upper()  # the same key
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(seed))

    output = run("load_cases", str(changed))

    [case] = Case.objects.all()
    assert "updated" in output
    assert case.age_at_diagnosis == 57
    # New content is submitted again, then reviewed to the seed's status.
    assert (case.status, case.version) == (seed["status"], 4)


def test_load_cases_twice_leaves_the_founding_case_unchanged(db):
    first = run("load_cases", str(FOUNDING_SEED))
    second = run("load_cases", str(FOUNDING_SEED))

    assert "literature/lit-breast-idc-scalp-0001: created" in first
    assert "literature/lit-breast-idc-scalp-0001: unchanged" in second
