"""Revoke an API token by its prefix (the first characters shown when it was issued)."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from registry.models import ApiToken
from registry.services.tokens import token_revoke


class Command(BaseCommand):
    help = "Revoke the API token with this prefix (e.g. rmr_AbCdEfGh); a full token works too."

    def add_arguments(self, parser):
        parser.add_argument("--prefix", required=True)

    @transaction.atomic
    def handle(self, *args, prefix, **options):
        # Stored prefixes are the token's first 12 characters, so a pasted token matches too.
        prefix = prefix.strip()[: ApiToken._meta.get_field("prefix").max_length]
        tokens = list(ApiToken.objects.select_related("user").filter(prefix=prefix))
        if not tokens:
            raise CommandError(f"No API token has the prefix '{prefix}'.")
        if len(tokens) > 1:
            raise CommandError(f"{len(tokens)} tokens share the prefix '{prefix}'; use the admin.")
        token = tokens[0]
        already = token.revoked_at is not None
        token_revoke(token=token)
        state = "was already revoked" if already else "revoked"
        self.stdout.write(f"Token {token.prefix}… of {token.user.username} {state}.")
