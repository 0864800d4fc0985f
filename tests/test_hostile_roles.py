"""Roles (issue 23, point 6): a curator could issue an API token for any account, the
superuser included, and act as it. Now curators issue tokens for submitter and analyst
accounts only; curator, staff and superuser tokens come from `manage.py issue_token`
on the server."""

import io

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command

from registry.models import ApiToken, Role
from registry.services.tokens import token_issue
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ADD_TOKEN = "/admin/registry/apitoken/add/"


@pytest.fixture
def superuser(db):
    return UserFactory(
        username="root", role=Role.CURATOR, institution=None, is_staff=True, is_superuser=True
    )


@pytest.fixture
def other_curator(db):
    return UserFactory(username="curator-2", role=Role.CURATOR, institution=None, is_staff=True)


@pytest.fixture
def staff_analyst(db):
    return UserFactory(username="staff-analyst", role=Role.ANALYST, is_staff=True)


def issue_in_admin(client, user):
    return client.post(ADD_TOKEN, {"user": user.pk, "name": "x", "valid_days": 30})


@pytest.mark.parametrize("persona", ["submitter_a", "analyst"])
def test_a_curator_issues_tokens_for_submitters_and_analysts(curator_in_admin, request, persona):
    user = request.getfixturevalue(persona)
    response = issue_in_admin(curator_in_admin, user)
    assert response.status_code == 302, response.content[:500]
    assert ApiToken.objects.filter(user=user).count() == 1


@pytest.mark.parametrize("persona", ["superuser", "other_curator", "curator", "staff_analyst"])
def test_a_curator_cannot_issue_a_token_for_a_privileged_account(
    curator_in_admin, request, persona
):
    user = request.getfixturevalue(persona)
    response = issue_in_admin(curator_in_admin, user)
    assert response.status_code == 200  # the form again, with its error
    assert b"Select a valid choice" in response.content
    assert not ApiToken.objects.filter(user=user).exists()


@pytest.mark.parametrize("persona", ["superuser", "other_curator", "staff_analyst"])
@pytest.mark.parametrize("actor", ["curator", "superuser"])
def test_the_service_refuses_privileged_tokens_to_any_signed_in_actor(request, persona, actor):
    user, acting = request.getfixturevalue(persona), request.getfixturevalue(actor)
    with pytest.raises(PermissionDenied):
        token_issue(user=user, name="x", actor=acting)
    assert not ApiToken.objects.filter(user=user).exists()


def test_a_submitter_cannot_issue_tokens_at_all(submitter_a, analyst):
    with pytest.raises(PermissionDenied):
        token_issue(user=analyst, name="x", actor=submitter_a)


def test_the_command_line_issues_a_curator_token(db):
    out = io.StringIO()
    call_command("issue_token", "--role", "curator", "--raw", stdout=out)
    assert out.getvalue().startswith("rmr_")
    assert ApiToken.objects.get().user.role == Role.CURATOR
