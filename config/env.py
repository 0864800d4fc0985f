"""Strict readers for settings taken from the environment (12-factor).

A misspelt value must stop the process at start-up rather than silently turn a
security switch off, so every reader raises ``ImproperlyConfigured`` on bad input.

Every reader also accepts ``<NAME>_FILE``: the path of a file holding the value
(Docker and Kubernetes secrets mount them so), read and stripped, as healthchecks
does. Setting both ``NAME`` and ``NAME_FILE`` is an error: which one wins would
otherwise be a guess.
"""

import collections
import math
import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _raw(name: str) -> str | None:
    """The value of ``name`` from the environment or from the file ``name_FILE`` names."""
    file_name = f"{name}_FILE"
    path = os.environ.get(file_name)
    if path is None:
        return os.environ.get(name)
    if name in os.environ:
        raise ImproperlyConfigured(f"Set either {name} or {file_name}, not both.")
    try:
        with open(path, encoding="utf-8") as secret:
            return secret.read().strip()
    except (OSError, UnicodeDecodeError) as error:
        raise ImproperlyConfigured(
            f"{file_name}={path!r} cannot be read: {error.__class__.__name__}."
        ) from None


def env_str(name: str, default: str | None = None) -> str:
    value = _raw(name)
    if value is None:
        value = default
    if value is None:
        raise ImproperlyConfigured(f"The environment variable {name} is required.")
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = _raw(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a boolean; use one of {sorted(_TRUE | _FALSE)}."
    )


def env_int(name: str, default: int) -> int:
    raw = _raw(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer.") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = _raw(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


# A pseudonym key is the only thing between a FHIR identifier and its pseudonym.
SECRET_MIN_LENGTH = 32
SECRET_MIN_BITS_PER_CHARACTER = 3.0
SECRET_MIN_BITS = 128


def weak_secret_reason(value: str, *, other_secrets: tuple[str, ...] = ()) -> str | None:
    """Why `value` is too weak to be a production secret, or None.

    The entropy is Shannon's over the value's own characters: a crude bound, but it
    refuses a blank, a repeated letter or a short word, and a generated
    `secrets.token_urlsafe(32)` (about 210 bits by this measure) passes.
    """
    if not value.strip():
        return "it is empty"
    if len(value) < SECRET_MIN_LENGTH:
        return f"it has {len(value)} characters, fewer than {SECRET_MIN_LENGTH}"
    per_character = -sum(
        count / len(value) * math.log2(count / len(value))
        for count in collections.Counter(value).values()
    )
    bits = per_character * len(value)
    if per_character < SECRET_MIN_BITS_PER_CHARACTER or bits < SECRET_MIN_BITS:
        return "its characters repeat too much to be random"
    if value in other_secrets:
        return "it is the same as SECRET_KEY"
    return None
