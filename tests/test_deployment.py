"""The Docker path of docs/deployment.md as written: every secret named, none missing.

Docker is not on the test machines, so the compose file is read instead of run:
the app's environment as Compose would build it from the documented `.env`
must start the production settings, and every variable Compose refuses to
start without must be one the documented block writes and the table explains.
"""

import re
import secrets
from pathlib import Path

import yaml
from django.conf import settings

from tests.process_helpers import run_python

ROOT = Path(settings.BASE_DIR)
INTERPOLATION = re.compile(r"\$\{(\w+)(?::?([?-])([^}]*))?\}")


def compose_app_environment() -> dict[str, str]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["app"][
        "environment"
    ]


def required_by_compose() -> set[str]:
    """`${NAME:?message}`: Compose stops without NAME."""
    return {
        name
        for value in compose_app_environment().values()
        for name, kind, _ in INTERPOLATION.findall(str(value))
        if kind == "?"
    }


def docker_block() -> str:
    text = (ROOT / "docs" / "deployment.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", text, re.DOTALL)
    return next(block for block in blocks if "docker compose up" in block)


def documented_env() -> dict[str, str]:
    """The `.env` the documented block writes (its names, with random stand-in values).

    Random, as the documented block generates them: production refuses weak secrets.
    """
    names = re.findall(r"([A-Z][A-Z0-9_]+)=\{", docker_block())
    return {name: secrets.token_urlsafe(50) for name in names}


def interpolated(env: dict[str, str]) -> dict[str, str]:
    def value(match):
        name, kind, default = match.groups()
        if name in env:
            return env[name]
        assert kind == "-", f"Compose would stop: {name} is required and not documented"
        return default

    return {
        name: INTERPOLATION.sub(value, str(raw)) for name, raw in compose_app_environment().items()
    }


def test_the_documented_env_file_holds_every_secret_compose_requires():
    required = required_by_compose()
    assert {"SECRET_KEY", "REGISTRY_PSEUDONYM_KEY"} <= required
    assert required <= set(documented_env())
    table = (ROOT / "docs" / "deployment.md").read_text()
    for name in required:
        assert f"| `{name}` |" in table, f"{name} is not in the settings table"


def test_the_app_environment_compose_builds_starts_the_production_settings():
    env = interpolated(documented_env())
    # The database host `db` exists only inside Compose; the settings do not connect.
    script = "import config.settings as s; print(s.DEBUG, bool(s.SECRET_KEY))"
    started = run_python(
        "-c", script, env={"PATH": "/usr/bin:/bin", **env, "DJANGO_SETTINGS_MODULE": ""}
    )
    assert started.returncode == 0, started.stderr
    assert started.stdout.split() == ["False", "True"]


def test_without_a_required_secret_the_settings_refuse_to_start():
    for name in required_by_compose():
        env = {k: v for k, v in interpolated(documented_env()).items() if k != name}
        started = run_python("-c", "import config.settings", env={"PATH": "/usr/bin:/bin", **env})
        assert started.returncode != 0, name
        assert name in started.stderr, started.stderr[-500:]
