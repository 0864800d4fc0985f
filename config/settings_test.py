"""Settings for the test suite: the production module with test defaults.

Tests run against PostgreSQL (the local server unless DATABASE_URL says
otherwise) with production security settings, except the HTTPS redirect, which
the test client cannot follow.
"""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/registry")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")
os.environ.setdefault("REGISTRY_PSEUDONYM_KEY", "test-only-pseudonym-key-not-for-production-use")
os.environ.setdefault("REGISTRY_CELL_KEY_SECRET", "test-only-cell-key-secret-not-for-production")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
# The schema names the loaded subtypes, which a transactional test's flush empties for a
# moment: no test may read another's rendering (test_hostile_contract sets its own).
os.environ.setdefault("SCHEMA_CACHE_SECONDS", "0")
# Attack suites ask thousands of tables: they measure the statistics' protection alone.
# tests/test_statistics_use.py sets the limits it tests.
os.environ.setdefault("API_STATISTICS_RATE_PER_PERSON", "100000/minute")
os.environ.setdefault("REGISTRY_ANALYST_DAILY_TABLES", "1000000")

from config.settings import *  # noqa: F403

# Hashing cost is not what the tests test.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Static files come from the app finders (Swagger UI's sidecar) without collectstatic.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# Throttle and failed-token counters in this process's memory: five statements fewer on
# every request the suite sends. The production choice (the database's table or Redis,
# shared by all workers) is tested with its own settings (tests/test_hostile_limits.py).
# The KEY_PREFIX stays, so keys are built exactly as in production.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "registry-tests",
        "KEY_PREFIX": CACHES["default"]["KEY_PREFIX"],  # noqa: F405
    }
}
