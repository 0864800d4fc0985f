"""Failed logins counted per account, by django-axes, in the database every worker shares.

Axes counts the failures of the two password forms (the admin's and the
analysts') and refuses the next attempt once LOGIN_FAILURE_LIMIT is reached,
for LOGIN_FAILURE_WINDOW_SECONDS after the last failure. What it counts is the
account the form would authenticate: the username as Django's login form
cleans it (surrounding spaces stripped, Unicode NFKC, so a fullwidth "ｃ" is
"c"), compared as exactly as the authentication backend compares it. So
`" curator"`, `"curator "` and `"ｃurator"` all spend the one budget of
`curator`.
"""

import math

from django.conf import settings
from django.contrib.auth.forms import UsernameField
from django.utils import timezone

from api.problems import problem_response
from registry.error_codes import ErrorCode

_USERNAME = UsernameField(max_length=150)


def account_username(request, credentials) -> str | None:
    """AXES_USERNAME_CALLABLE: the username as the login form and backend will use it."""
    field = settings.AXES_USERNAME_FORM_FIELD
    if credentials and credentials.get(field) is not None:
        raw = credentials[field]
    else:
        raw = getattr(request, "POST", {}).get(field)
    if raw is None:
        return None
    return _USERNAME.to_python(str(raw))[:150]


def lockout_response(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: 429 problem whose Retry-After is the real time left."""
    response = problem_response(
        429,
        "Too many failed logins for this account; try again later.",
        ErrorCode.TOO_MANY_LOGIN_FAILURES,
    )
    response["Retry-After"] = str(seconds_until_unlocked(account_username(request, credentials)))
    return response


def seconds_until_unlocked(username: str | None) -> int:
    from axes.models import AccessAttempt  # the app registry is ready by the first request

    window = settings.AXES_COOLOFF_TIME
    last = (
        AccessAttempt.objects.filter(username=username)
        .order_by("-attempt_time")
        .values_list("attempt_time", flat=True)
        .first()
    )
    if last is None:
        return math.ceil(window.total_seconds())
    return max(1, math.ceil((last + window - timezone.now()).total_seconds()))
