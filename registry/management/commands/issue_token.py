"""Issue an API token for an institution's system, an analyst or a curator.

The raw token is printed once; only its hash is stored, so a lost token is
revoked (`revoke_token --prefix`) and replaced, never recovered.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from registry.models import ApiToken, Institution, Role, User
from registry.services.tokens import token_issue


def registry_account(*, username: str, role: str, institution: Institution | None) -> User:
    """The user with this name, created with this role and institution if missing.

    An existing user keeps its scope: a token must never widen or move what an
    account can see, so a different role or institution is an error.
    """
    user, created = User.objects.get_or_create(
        username=username, defaults={"role": role, "institution": institution}
    )
    if created:
        user.set_unusable_password()  # a system account signs in with tokens only
        user.save(update_fields=["password"])
    elif (user.role, user.institution_id) != (role, institution and institution.pk):
        where = user.institution.code if user.institution else "no institution"
        raise CommandError(
            f"User '{username}' exists as {user.role} of {where}; "
            "choose another --user or change the account in the admin."
        )
    return user


def describe_token(token: ApiToken, raw: str) -> str:
    user = token.user
    where = f"institution {user.institution.code}" if user.institution else "no institution"
    expiry = f"expires {token.expires_at:%Y-%m-%d}" if token.expires_at else "never expires"
    return (
        f"API token '{token.name}' for {user.username} ({user.role}, {where}), {expiry}:\n"
        f"  {raw}\n"
        f"Shown once: only its hash is stored. Revoke with: "
        f"python manage.py revoke_token --prefix {token.prefix}"
    )


class Command(BaseCommand):
    help = "Create (or reuse) an account for an institution and role and print a new API token."

    def add_arguments(self, parser):
        parser.add_argument("--institution", help="Institution code (required for submitters).")
        parser.add_argument("--role", required=True, help="submitter, analyst or curator.")
        parser.add_argument(
            "--user", help="Username; default <institution>-<role>, or registry-<role>."
        )
        parser.add_argument("--name", default="issued by manage.py issue_token", help="Label.")
        parser.add_argument(
            "--days", type=int, default=365, help="Days until expiry; 0 never expires."
        )
        parser.add_argument(
            "--raw",
            action="store_true",
            help="Print the token alone, for scripts: export TOKEN=$(... --raw).",
        )

    @transaction.atomic
    def handle(self, *args, institution, role, user, name, days, raw=False, **options):
        if role not in Role.values:
            raise CommandError(f"Unknown role '{role}'; use one of {', '.join(Role.values)}.")
        if days < 0:
            raise CommandError("--days must be 0 (no expiry) or more.")
        member_of = None
        if institution:
            member_of = Institution.objects.filter(code=institution).first()
            if member_of is None:
                known = ", ".join(Institution.objects.values_list("code", flat=True)) or "none"
                raise CommandError(f"Unknown institution '{institution}' (known: {known}).")
        elif role == Role.SUBMITTER:
            raise CommandError("A submitter belongs to an institution: give --institution.")
        if not user:
            # Named after what it acts for: hosp-a-submitter, or registry-analyst.
            user = f"{member_of.code if member_of else 'registry'}-{role}"
        account = registry_account(username=user, role=role, institution=member_of)
        token, secret = token_issue(user=account, name=name, valid_days=days or None)
        self.stdout.write(secret if raw else describe_token(token, secret))
