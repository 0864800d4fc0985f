"""The database cache's table exists whatever CACHES said when `migrate` ran.

Throttle histories fall back to the table `registry_cache` when REDIS_URL is
unset (config.settings, "shared cache"). Django's `createcachetable` only makes
the tables of the caches configured at that moment, so a database migrated
with Redis configured had none, and the same registry run without Redis then
failed every throttled request. So the table is made after every `migrate`.
"""

from django.core.management.commands.createcachetable import Command as CreateCacheTable

CACHE_TABLE = "registry_cache"


def cache_table_ensure(*, using: str) -> None:
    """Create the cache table on the database `using` unless it exists (no-op then)."""
    command = CreateCacheTable()
    command.verbosity = 0
    command.create_table(using, CACHE_TABLE, dry_run=False)


def ensure_after_migrate(sender, using="default", **kwargs) -> None:
    """post_migrate receiver: the table, on every database migrate runs on."""
    cache_table_ensure(using=using)
