"""Issuing and revoking API tokens; the raw token is shown once and never stored."""

import datetime
import secrets

from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, transaction
from django.utils import timezone
from psycopg.errors import ReadOnlySqlTransaction

from registry.models import ApiToken, Role, User
from registry.models.token import hash_token

TOKEN_PREFIX = "rmr_"
# The accounts a token may be issued for by someone signed in (the admin, any actor).
DELEGABLE_ROLES = (Role.SUBMITTER, Role.ANALYST)


def token_holders():
    """Accounts a curator may issue tokens for: submitters and analysts, never staff."""
    return User.objects.filter(role__in=DELEGABLE_ROLES, is_staff=False, is_superuser=False)


def may_hold_delegated_token(user: User) -> bool:
    return user.role in DELEGABLE_ROLES and not user.is_staff and not user.is_superuser


@transaction.atomic
def token_issue(
    *, user: User, name: str, valid_days: int | None = 365, actor: User | None = None
) -> tuple[ApiToken, str]:
    """A new token for `user`; returns the row and the raw token to hand over once.

    With an `actor` (a curator in the admin), only for submitter and analyst
    accounts: a token for a curator, staff or superuser account would let the
    actor act as it. Those are issued without an actor, by whoever runs
    `manage.py issue_token` on the server, i.e. with the superuser's access.
    """
    if actor is not None and not (actor.is_curator and may_hold_delegated_token(user)):
        raise PermissionDenied(
            "Curators issue tokens for submitter and analyst accounts only; tokens for "
            "curator, staff or superuser accounts come from `manage.py issue_token`."
        )
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user=user,
        name=name,
        prefix=raw[:12],
        key_hash=hash_token(raw),
        expires_at=timezone.now() + datetime.timedelta(days=valid_days) if valid_days else None,
    )
    token._history_user = actor
    token.save()
    return token, raw


@transaction.atomic
def token_revoke(*, token: ApiToken, actor: User | None = None) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token._history_user = actor
        token.save(update_fields=["revoked_at"])
    return token


def token_authenticate(raw: str) -> ApiToken | None:
    """The usable token with this value, or None (unknown, expired, revoked, or its user's
    account or institution deactivated)."""
    token = (
        ApiToken.objects.select_related("user", "user__institution")
        .filter(key_hash=hash_token(raw))
        .first()
    )
    if token is None or not token.is_usable or not token.user.is_active:
        return None
    institution = token.user.institution
    if institution is not None and not institution.is_active:
        return None
    return token


# Recording every use would turn each read into a write; a coarse mark is enough.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=5)


def token_mark_used(token: ApiToken) -> None:
    """Record that the token was just used, at most once per LAST_USED_RESOLUTION.

    One UPDATE of that column alone: no history row (the field is excluded from
    the token's history), and no save() that could overwrite a parallel revocation.
    """
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        try:
            with transaction.atomic():  # a savepoint: a refusal leaves the request usable
                ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        except DatabaseError as error:
            # A read-only database (a standby after a failover) still serves reads.
            if not isinstance(error.__cause__, ReadOnlySqlTransaction):
                raise
            return
        token.last_used_at = now
