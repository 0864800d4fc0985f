"""Settings read the environment strictly: a bad value stops start-up, naming the variable."""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str

NAME = "REGISTRY_TEST_SETTING"


@pytest.mark.parametrize("raw", ["1", "true", "True", "YES", "on", " On "])
def test_env_bool_true_forms(monkeypatch, raw):
    monkeypatch.setenv(NAME, raw)
    assert env_bool(NAME, default=False) is True


@pytest.mark.parametrize("raw", ["0", "false", "FALSE", "no", "off", " Off "])
def test_env_bool_false_forms(monkeypatch, raw):
    monkeypatch.setenv(NAME, raw)
    assert env_bool(NAME, default=True) is False


@pytest.mark.parametrize("default", [True, False])
def test_env_bool_unset_or_empty_gives_the_default(monkeypatch, default):
    monkeypatch.delenv(NAME, raising=False)
    assert env_bool(NAME, default=default) is default
    monkeypatch.setenv(NAME, "")
    assert env_bool(NAME, default=default) is default


@pytest.mark.parametrize("raw", ["ture", "2", "enabled", "y e s"])
def test_env_bool_rejects_anything_else_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv(NAME, raw)
    with pytest.raises(ImproperlyConfigured, match=NAME):
        env_bool(NAME, default=False)


def test_env_int(monkeypatch):
    monkeypatch.delenv(NAME, raising=False)
    assert env_int(NAME, 11) == 11
    monkeypatch.setenv(NAME, "")
    assert env_int(NAME, 11) == 11
    monkeypatch.setenv(NAME, "25")
    assert env_int(NAME, 11) == 25
    monkeypatch.setenv(NAME, "eleven")
    with pytest.raises(ImproperlyConfigured, match=NAME):
        env_int(NAME, 11)


def test_env_list_and_env_str(monkeypatch):
    monkeypatch.setenv(NAME, " a.example.org, ,b.example.org ")
    assert env_list(NAME, []) == ["a.example.org", "b.example.org"]
    monkeypatch.delenv(NAME)
    assert env_list(NAME, ["x"]) == ["x"]
    assert env_str(NAME, "fallback") == "fallback"
    with pytest.raises(ImproperlyConfigured, match=NAME):
        env_str(NAME)


# ---------------------------------------------------------------- importing the settings


def import_settings(**env: str) -> subprocess.CompletedProcess:
    """Import config.settings in a fresh interpreter with only these registry variables set."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE", "ALLOWED_HOSTS"}
    }
    return subprocess.run(
        [sys.executable, "-c", "import config.settings as s; print(s.DEBUG, s.SECRET_KEY)"],
        cwd=settings.BASE_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_secret_key_is_required_when_debug_is_off():
    result = import_settings()
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


def test_the_development_key_needs_debug():
    result = import_settings(
        DEBUG="false", SECRET_KEY="dev-only-insecure-key-never-use-in-production"
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_debug_runs_with_the_development_key():
    result = import_settings(DEBUG="true")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("True dev-only-")


def test_production_runs_with_a_secret_key():
    result = import_settings(SECRET_KEY="a-real-secret-from-the-environment")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False a-real-secret-from-the-environment"


def test_a_misspelt_boolean_stops_start_up():
    result = import_settings(DEBUG="ture")
    assert result.returncode != 0
    assert "DEBUG='ture' is not a boolean" in result.stderr
