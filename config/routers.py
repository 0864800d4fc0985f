"""Database routing: aggregate reads may go to a read replica, everything else to the primary.

Statistics are the heavy reads and tolerate a replica's lag of a second or so;
case reads and writes, tokens and idempotency records do not, so they stay on the
primary. A request opts in with `replica_reads()` (the stats views do, through
`StatsOnReplicaMiddleware` below). Without `DATABASE_REPLICA_URL`, or
while the replica cannot be reached, every read goes to the primary.
"""

import contextlib
import contextvars
import logging
import time

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections

REPLICA_ALIAS = "replica"
# After a failed connection the replica is skipped for this long.
RETRY_AFTER_SECONDS = 30.0
# Models that must read their own writes at once (authentication, resends).
PRIMARY_ONLY = frozenset({"registry.apitoken", "registry.user", "registry.idempotencyrecord"})

logger = logging.getLogger("config.routers")
_on_replica: contextvars.ContextVar[bool] = contextvars.ContextVar("on_replica", default=False)
_replica_down_until = 0.0


@contextlib.contextmanager
def replica_reads():
    """Within this block, reads of registry data may be served by the replica."""
    reset = _on_replica.set(True)
    try:
        yield
    finally:
        _on_replica.reset(reset)


class StatsOnReplicaMiddleware:
    """GETs under REPLICA_READ_PATH_PREFIXES (the statistics) read from the replica, if any."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method in ("GET", "HEAD") and request.path.startswith(
            settings.REPLICA_READ_PATH_PREFIXES
        ):
            with replica_reads():
                return self.get_response(request)
        return self.get_response(request)


def read_alias() -> str:
    """The alias a read should use now: the replica if asked for, configured and up."""
    if not _on_replica.get() or REPLICA_ALIAS not in connections.settings:
        return DEFAULT_DB_ALIAS
    return REPLICA_ALIAS if _replica_is_up() else DEFAULT_DB_ALIAS


def _replica_is_up() -> bool:
    global _replica_down_until
    if time.monotonic() < _replica_down_until:
        return False
    replica = connections[REPLICA_ALIAS]
    try:
        replica.close_if_health_check_failed()  # a replica stopped since the last request
        replica.ensure_connection()
    except OperationalError as error:
        logger.warning("replica unreachable, reading from the primary: %s", error)
        _replica_down_until = time.monotonic() + RETRY_AFTER_SECONDS
        return False
    return True


class ReplicaRouter:
    """Sends registry reads inside `replica_reads()` to the replica; all writes to the primary."""

    def db_for_read(self, model, **hints):
        # The database cache's stand-in model has no label: its counters live on the primary.
        if getattr(model._meta, "label_lower", None) in PRIMARY_ONLY or (
            model._meta.app_label == "django_cache"
        ):
            return DEFAULT_DB_ALIAS
        return read_alias()

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the replica holds the same rows as the primary

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        # The counted metastases are derived rows that migration 0003's SQL makes and its
        # triggers keep (PostgreSQL only): dumpdata, loaddata and flush leave them out.
        if (app_label, model_name) == ("registry", "countedmetastasis"):
            return False
        return db == DEFAULT_DB_ALIAS
