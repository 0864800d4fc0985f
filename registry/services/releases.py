"""Making and retiring releases (`registry.models.release`)."""

import re
import time
import tomllib
from functools import cache

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connections, transaction
from django.utils import timezone

from registry.models import Release, User
from registry.releases import notes, snapshot

NAME = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]{0,31}")


@cache
def software_version() -> str:
    """The registry's version as pyproject.toml states it."""
    with open(settings.BASE_DIR / "pyproject.toml", "rb") as pyproject:
        return tomllib.load(pyproject)["project"]["version"]


def next_release_name(year: int | None = None) -> str:
    """This year's next number: 2026.1, 2026.2, ..."""
    year = year or timezone.now().year
    numbers = [
        int(name.split(".", 1)[1])
        for name in Release.objects.filter(name__startswith=f"{year}.").values_list(
            "name", flat=True
        )
        if name.split(".", 1)[1].isdigit()
    ]
    return f"{year}.{max(numbers, default=0) + 1}"


def release_name_refusal(name: str) -> str | None:
    """Why `name` cannot name a new release, or None. Names that differ only in case or
    punctuation (2026.4, 2026-4) would share their storage, so the second is refused."""
    if not NAME.fullmatch(name):
        return "Use letters, digits, '.', '-' or '_' (e.g. 2026.4)."
    if Release.objects.filter(name=name).exists():
        return f"Release {name} exists already."
    if Release.objects.filter(storage=snapshot.storage_name(name)).exists():
        return f"A release with a name like {name} exists already; choose another."
    return None


def release_create(
    *, name: str | None = None, description: str = "", by: User | None = None
) -> Release:
    """Snapshot what analysts count now, as one release, in one consistent view of the data.

    The copy runs in a REPEATABLE READ transaction (PostgreSQL), so a case verified
    while it runs is either wholly in the release, metastases and all, or not at all.
    """
    name = name or next_release_name()
    refusal = release_name_refusal(name)
    if refusal:
        raise ValidationError({"name": refusal})
    started = time.monotonic()
    storage = snapshot.storage_name(name)
    alias = snapshot.database()
    connection = connections[alias]
    outermost = not connection.in_atomic_block
    with transaction.atomic(using=alias):
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        previous = Release.objects.latest_available()
        made = snapshot.make(storage, alias)
        release = Release.objects.using(alias).create(
            name=name,
            storage=storage,
            created_by=by,
            software_version=software_version(),
            checksum=made.checksum,
            cases=made.cases,
            metastases=made.metastases,
            storage_bytes=made.storage_bytes,
            description=description,
            previous=previous,
            changes=notes.release_changes(storage, previous.storage if previous else None, alias),
        )
    snapshot.settle(storage, alias)
    # The time a curator waits: the copy, its checksum, the notes and the settling.
    release.seconds_to_create = time.monotonic() - started
    release.save(update_fields=["seconds_to_create"])
    return release


def release_retire(*, release: Release, successor: Release | None = None) -> Release:
    """Retire a release: its rows are dropped and its answers become 410, naming the successor.

    The successor is the newest release not retired, made after it, unless one is
    named; a release without one cannot be retired (make the next release first),
    so analysts always have a release to count once they have had one.
    """
    if release.retired:
        raise ValidationError({"release": f"Release {release.name} is retired already."})
    if successor is None:
        successor = (
            Release.objects.filter(retired_at__isnull=True, created_at__gt=release.created_at)
            .order_by("-created_at", "-id")
            .first()
        )
    if successor is None or successor.pk == release.pk or successor.retired:
        refusal = f"Release {release.name} has no newer release to point to; make one first."
        raise ValidationError({"successor": refusal})
    alias = snapshot.database()
    with transaction.atomic(using=alias):
        release.retired_at = timezone.now()
        release.successor = successor
        release.save(update_fields=["retired_at", "successor"])
        snapshot.drop(release.storage, alias)
    return release
