"""Helpers for tests in a real browser: headless Chromium driven by Playwright.

Debian's `chromium` package against pytest-django's live server; `make test` installs
it where it can. A module importing this is skipped, saying why, where Playwright is
not installed; BROWSER_MARKS skip its tests where no browser is. The `browser`
fixture is in tests/conftest.py.
"""

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "a-long-test-password"

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
BROWSER_MARKS = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="no browser: install Debian's chromium package (make test does where it can)",
    ),
    # Each test flushes the database (a live server needs committed rows).
    pytest.mark.usefixtures("vocabularies_back_afterwards"),
]
