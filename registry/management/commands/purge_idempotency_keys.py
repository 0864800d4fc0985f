"""Delete expired Idempotency-Key records (older than REGISTRY_IDEMPOTENCY_TTL_HOURS).

Claiming a new key already purges expired ones, so this is for quiet servers
and for cron; it is safe to run at any time.
"""

from django.core.management.base import BaseCommand

from registry.services.idempotency import idempotency_purge


class Command(BaseCommand):
    help = "Delete Idempotency-Key records older than REGISTRY_IDEMPOTENCY_TTL_HOURS."

    def handle(self, *args, **options):
        deleted = idempotency_purge()
        self.stdout.write(f"Purged {deleted} expired idempotency key(s).")
