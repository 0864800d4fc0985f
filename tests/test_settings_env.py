"""Settings read the environment strictly: a bad value stops start-up, naming the variable."""

import os
import subprocess

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str
from tests.process_helpers import run_python

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


# ---------------------------------------------------------------- <NAME>_FILE secrets


@pytest.fixture
def secret_file(tmp_path):
    def write(content: str):
        path = tmp_path / "secret"
        path.write_text(content, encoding="utf-8")
        return str(path)

    return write


def test_every_reader_takes_its_value_from_the_file_name_file_points_at(monkeypatch, secret_file):
    monkeypatch.delenv(NAME, raising=False)
    monkeypatch.setenv(f"{NAME}_FILE", secret_file("  s3cret-from-a-mounted-file\n"))
    assert env_str(NAME) == "s3cret-from-a-mounted-file"
    monkeypatch.setenv(f"{NAME}_FILE", secret_file("on\n"))
    assert env_bool(NAME, default=False) is True
    monkeypatch.setenv(f"{NAME}_FILE", secret_file("42\n"))
    assert env_int(NAME, 11) == 42
    monkeypatch.setenv(f"{NAME}_FILE", secret_file("a.example.org,b.example.org\n"))
    assert env_list(NAME, []) == ["a.example.org", "b.example.org"]


def test_a_file_value_is_validated_like_an_environment_value(monkeypatch, secret_file):
    monkeypatch.delenv(NAME, raising=False)
    monkeypatch.setenv(f"{NAME}_FILE", secret_file("ture"))
    with pytest.raises(ImproperlyConfigured, match=f"{NAME}='ture' is not a boolean"):
        env_bool(NAME, default=False)
    monkeypatch.setenv(f"{NAME}_FILE", secret_file("eleven"))
    with pytest.raises(ImproperlyConfigured, match=NAME):
        env_int(NAME, 11)


def test_an_empty_file_is_an_empty_value_not_the_default(monkeypatch, secret_file):
    monkeypatch.delenv(NAME, raising=False)
    monkeypatch.setenv(f"{NAME}_FILE", secret_file("\n"))
    assert env_str(NAME, "fallback") == ""
    assert env_int(NAME, 11) == 11  # an empty number means "not set", as in the environment


@pytest.mark.parametrize("reader", [env_str, env_list, env_bool, env_int])
def test_setting_both_the_variable_and_its_file_is_refused(monkeypatch, secret_file, reader):
    monkeypatch.setenv(NAME, "1")
    monkeypatch.setenv(f"{NAME}_FILE", secret_file("1"))
    defaults = {env_str: "x", env_list: [], env_bool: False, env_int: 0}
    with pytest.raises(ImproperlyConfigured, match=f"either {NAME} or {NAME}_FILE"):
        reader(NAME, defaults[reader])


def test_a_missing_file_stops_start_up_naming_the_variable(monkeypatch, tmp_path):
    monkeypatch.delenv(NAME, raising=False)
    monkeypatch.setenv(f"{NAME}_FILE", str(tmp_path / "no-such-secret"))
    with pytest.raises(ImproperlyConfigured, match=f"{NAME}_FILE=.*cannot be read"):
        env_str(NAME, "fallback")


# ---------------------------------------------------------------- importing the settings


def import_settings(**env: str) -> subprocess.CompletedProcess:
    """Import config.settings in a fresh interpreter with only these registry variables set."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if k.removesuffix("_FILE")
        not in {"DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE", "ALLOWED_HOSTS"}
    }
    script = "import config.settings as s; print(s.DEBUG, s.SECRET_KEY)"
    return run_python("-c", script, env={**clean, **env})


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


def test_production_runs_with_the_secret_key_in_a_docker_secret_file(tmp_path):
    secret = tmp_path / "secret_key"
    secret.write_text("a-real-secret-from-a-mounted-file\n", encoding="utf-8")
    result = import_settings(SECRET_KEY_FILE=str(secret))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False a-real-secret-from-a-mounted-file"


def test_secret_key_and_secret_key_file_together_stop_start_up(tmp_path):
    secret = tmp_path / "secret_key"
    secret.write_text("from-the-file", encoding="utf-8")
    result = import_settings(SECRET_KEY="from-the-environment", SECRET_KEY_FILE=str(secret))
    assert result.returncode != 0
    assert "Set either SECRET_KEY or SECRET_KEY_FILE, not both." in result.stderr


def test_a_weak_cell_key_secret_stops_start_up():
    """The noise on analysts' counts is only as secret as its key."""
    result = import_settings(
        SECRET_KEY="a-real-secret-from-the-environment", REGISTRY_CELL_KEY_SECRET="short"
    )
    assert result.returncode != 0
    assert "REGISTRY_CELL_KEY_SECRET" in result.stderr


def test_production_without_a_cell_key_secret_stops_start_up():
    result = import_settings(
        SECRET_KEY="a-real-secret-from-the-environment", REGISTRY_CELL_KEY_SECRET=""
    )
    assert result.returncode != 0
    assert "REGISTRY_CELL_KEY_SECRET" in result.stderr


def test_debug_derives_a_cell_key_secret_apart_from_the_secret_key():
    script = "import config.settings as s; print(s.REGISTRY_CELL_KEY_SECRET)"
    clean = {k: v for k, v in os.environ.items() if k not in {"REGISTRY_CELL_KEY_SECRET"}}
    result = run_python("-c", script, env={**clean, "DEBUG": "true", "SECRET_KEY": "k" * 40})
    assert result.returncode == 0, result.stderr
    derived = result.stdout.strip()
    assert len(derived) == 64 and "k" * 40 not in derived
