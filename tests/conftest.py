"""Shared fixtures: a PostgreSQL test database with the vocabularies, and personas.

The personas are fixed roles, so permission tests read like a table: a submitter
of hospital A, a submitter of hospital B, an analyst and a curator.
"""

import os

import pytest
from django.contrib.auth.models import Permission
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from pytest_django.plugin import blocking_manager_key

from registry.models import Role
from registry.services.cases import case_create
from tests.factories import InstitutionFactory, UserFactory, founding_payload, load_vocabularies

# `make run` leaves .env.local (DEBUG=true, maybe a SQLite DATABASE_URL) beside manage.py;
# every manage.py a test starts inherits this and ignores it (manage.read_local_env).
os.environ["REGISTRY_LOCAL_ENV"] = "off"


# ---------------------------------------------------------------- tiers (docs/contributing.md)
# Every test gets one tier from what it uses, so a new test file needs no marker:
#   e2e       a live server, a browser, or the docs' walkthrough
#   contract  the OpenAPI schema held to the server (schemathesis, examples, generated client)
#   api       the database through HTTP (Django's test client)
#   domain    the database, no HTTP
#   unit      no database
TIERS = ("unit", "domain", "api", "contract", "e2e")
E2E_FIXTURES = {"live_server", "browser"}
CONTRACT_MODULES = ("test_openapi", "test_generated_client", "test_api_examples")
HTTP_FIXTURES = {"client", "admin_client", "curator_in_admin"}
HTTP_HELPERS = ("client_for", "APIClient", "Client")
DATABASE_FIXTURES = {
    "db",
    "transactional_db",
    "django_db_reset_sequences",
    "django_db_serialized_rollback",
}


def tier_of(item) -> str:
    for tier in TIERS:  # a test may name its tier itself
        if item.get_closest_marker(tier):
            return tier
    module = getattr(item, "module", None)
    name = module.__name__.rsplit(".", 1)[-1] if module else ""
    fixtures = set(getattr(item, "fixturenames", ()))
    if fixtures & E2E_FIXTURES or name.endswith("_browser") or name == "test_readme":
        return "e2e"
    if name.startswith(CONTRACT_MODULES):
        return "contract"
    if not (fixtures & DATABASE_FIXTURES or item.get_closest_marker("django_db")):
        return "unit"
    if fixtures & HTTP_FIXTURES or any(hasattr(module, helper) for helper in HTTP_HELPERS):
        return "api"
    return "domain"


def is_transactional(item) -> bool:
    """A test whose end flushes every table (vocabularies too): pytest-django runs them last."""
    marker = item.get_closest_marker("django_db")
    fixtures = set(getattr(item, "fixturenames", ()))
    return bool(
        fixtures & {"transactional_db", "live_server"}
        or (marker is not None and marker.kwargs.get("transaction"))
    )


@pytest.hookimpl(trylast=True)  # after pytest-django's own ordering
def pytest_collection_modifyitems(config, items):
    for item in items:
        if "postgres" in item.keywords and connection.vendor != "postgresql":
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)"))
        item.add_marker(tier_of(item))
    if hasattr(config, "workerinput"):
        # Under pytest-xdist the slowest tiers go first: a worker that finishes the
        # quick tail early steals from the other's queue instead of idling while one
        # long fuzzing item runs last. Transactional tests stay last, as pytest-django
        # orders them: their flush empties the vocabularies the others need. Every
        # worker sorts alike, as xdist requires.
        slow_first = {"contract": 0, "e2e": 1}
        items.sort(key=lambda item: (is_transactional(item), slow_first.get(tier_of(item), 2)))


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Load the real vocabularies once; every test sees them and rolls back its own rows."""
    with django_db_blocker.unblock():
        load_vocabularies()


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


# ---------------------------------------------------------------- requests through WSGI


@pytest.fixture
def wsgi_keeps_the_test_connection():
    """Like Django's test client: a request through WSGI must not close the test's connection.

    schemathesis sends its requests straight to the WSGI app; the test's transaction
    must stay open across them.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def case_of_a(hospital_a, submitter_a):
    """Hospital A's founding case: something to read, update, review or be refused."""
    return case_create(
        institution=hospital_a, local_id="a-0001", payload=founding_payload(), actor=submitter_a
    )


# ---------------------------------------------------------------- transactional tests


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """Every transactional test puts the vocabularies back after its flush.

    Sorting them last is not enough under xdist's work stealing: a worker that has
    run its transactional tail can still steal ordinary tests from the other. Done
    after every fixture of the test is torn down, so after the flush whichever
    fixture or marker asked for it.
    """
    yield
    if is_transactional(item):
        with item.config.stash[blocking_manager_key].unblock():
            load_vocabularies()


@pytest.fixture
def vocabularies_back_afterwards(django_db_blocker):
    """A transactional test's flush empties the vocabulary tables that later tests rely on."""
    yield
    with django_db_blocker.unblock():
        load_vocabularies()


@pytest.fixture
def browser(monkeypatch):
    """Headless Chromium driven by Playwright (tests/browser_helpers.py)."""
    from tests.browser_helpers import CHROMIUM, CHROMIUM_ARGS, sync_api

    # Playwright's sync API keeps an event loop running in this thread while the test's
    # own ORM calls run; Django refuses those unless told that this is deliberate.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# ---------------------------------------------------------------- the admin


@pytest.fixture
def curator_in_admin(client, curator):
    """The curator persona with the registry's model permissions, logged in to the admin."""
    curator.user_permissions.set(Permission.objects.filter(content_type__app_label="registry"))
    client.force_login(curator)
    return client
