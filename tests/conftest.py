"""Shared fixtures: a PostgreSQL test database with the vocabularies, and personas.

The personas are fixed roles, so permission tests read like a table: a submitter
of hospital A, a submitter of hospital B, an analyst and a curator.
"""

import io

import pytest
from django.core.management import call_command
from django.db import connection

from registry.models import Role
from registry.vocabularies import forget_vocabularies
from tests.factories import InstitutionFactory, UserFactory


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "postgres" in item.keywords and connection.vendor != "postgresql":
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)"))


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Load the real vocabularies once; every test sees them and rolls back its own rows."""
    with django_db_blocker.unblock():
        call_command("load_vocabularies", stdout=io.StringIO())
    forget_vocabularies()


@pytest.fixture(scope="session", autouse=True)
def _vocabularies_rechecked_on_load_only():
    """Query counts must not depend on the clock: no timed release re-check in tests.

    Loading vocabularies drops the snapshot (and the tests that roll loads back
    call forget_vocabularies), so every test still sees the rows it loaded.
    """
    patch = pytest.MonkeyPatch()
    patch.setattr("registry.vocabularies.RECHECK_SECONDS", float("inf"))
    yield
    patch.undo()


@pytest.fixture
def hospital_a(db):
    return InstitutionFactory(code="hosp-a", name="Hospital A", country="FR")


@pytest.fixture
def hospital_b(db):
    return InstitutionFactory(code="hosp-b", name="Hospital B", country="DE")


@pytest.fixture
def submitter_a(hospital_a):
    return UserFactory(username="submitter-a", role=Role.SUBMITTER, institution=hospital_a)


@pytest.fixture
def submitter_b(hospital_b):
    return UserFactory(username="submitter-b", role=Role.SUBMITTER, institution=hospital_b)


@pytest.fixture
def analyst(db):
    return UserFactory(username="analyst", role=Role.ANALYST, institution=None)


@pytest.fixture
def curator(db):
    return UserFactory(username="curator", role=Role.CURATOR, institution=None, is_staff=True)
