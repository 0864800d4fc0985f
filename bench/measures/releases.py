"""Releases: making one, and an analyst's count on it ÷ the same count on the live data.

Run on a registry with no release (analysts then count the live verified cases):
the analyst's live counts are timed first, then a release is made (timed against
a plain INSERT … SELECT of the same rows, without indexes, checksum or notes),
then the same counts on the release. A curator's count of the release ÷ the same
curator's live count of verified cases is timed interleaved, run by run. The
release is dropped at the end, so the other measures meet the registry as before.
"""

import statistics

from bench.environment import say
from bench.figures import Figure
from bench.measures.stats import STATS_FILTERS
from bench.session import Session
from bench.timing import after_warm_up, timed, timed_get

# The counts an analyst most often asks: everything, a primary, a site group.
ASKED = {
    "all cases": {},
    "breast primaries": {"primary_category": "C50"},
    "cases with a skin metastasis": {"site_group": "Skin"},
}


def _plain_copy_ms() -> float:
    """An INSERT … SELECT of the rows a release copies, into scratch tables: the floor."""
    from django.db import connection, transaction

    from registry.releases.snapshot import TABLES

    def copy() -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            for copied in TABLES:
                where, params = copied.where()
                cursor.execute(
                    f"CREATE TEMP TABLE bench_{copied.table} ON COMMIT DROP AS "
                    f"SELECT * FROM {copied.table} {where}",
                    params,
                )

    milliseconds, _ = timed(copy)
    return milliseconds


def release_counts(session: Session) -> list[Figure]:
    from registry.models import Release
    from registry.releases import snapshot
    from registry.services.releases import release_create

    if Release.objects.exists():
        say("bench: releases: this registry has releases already; skipped")
        return []
    figures = []
    with session.client("analyst", timeout=300) as analyst:
        live = {
            label: after_warm_up(
                session.runs,
                lambda run, q=query: timed_get(
                    analyst, "/api/v1/stats/", {"group_by": "code", **q}
                ),
            )
            for label, query in ASKED.items()
        }
        floor_ms = _plain_copy_ms()
        release = release_create(name=f"bench-{session.run_id}")
        try:
            say(
                f"bench: release {release.name}: {release.cases:,} cases in "
                f"{release.seconds_to_create:.1f} s, {release.storage_bytes / 1e6:.0f} MB"
            )
            figures.append(
                Figure.against(
                    "release create ÷ plain copy",
                    session.size,
                    "ms",
                    [(release.seconds_to_create * 1000, floor_ms)],
                    baseline_name="INSERT … SELECT of the same rows",
                    goal="",
                    note=f"{release.cases:,} cases, {release.metastases:,} metastases, "
                    f"{release.storage_bytes / 1e6:.0f} MB with indexes",
                )
            )
            for label, query in ASKED.items():
                params = {"group_by": "code", **query}
                frozen = after_warm_up(
                    session.runs, lambda run, p=params: timed_get(analyst, "/api/v1/stats/", p)
                )
                assert all(body["release"] == release.name for _, body in frozen)
                figures.append(
                    Figure.against(
                        f"analyst on release ÷ on live data: {label}",
                        session.size,
                        "ms",
                        [(on, off) for (on, _), (off, _) in zip(frozen, live[label], strict=True)],
                        baseline_name="live (before the release)",
                        goal="≤ 1.0",
                        note="median of the live runs "
                        f"{statistics.median(ms for ms, _ in live[label]):.0f} ms",
                    )
                )
            with session.client("curator", timeout=300) as curator:
                for label, query, _ in STATS_FILTERS[:2]:
                    live_q = {"group_by": "code", **query, "status": "verified"}
                    frozen_q = {"group_by": "code", **query, "release": release.name}
                    frozen_q.pop("status", None)

                    def one_run(run, live_q=live_q, frozen_q=frozen_q):
                        frozen_ms, _ = timed_get(curator, "/api/v1/stats/", frozen_q)
                        live_ms, _ = timed_get(curator, "/api/v1/stats/", live_q)
                        return frozen_ms, live_ms

                    figures.append(
                        Figure.against(
                            f"curator on release ÷ on live verified: {label}",
                            session.size,
                            "ms",
                            after_warm_up(session.runs, one_run),
                            baseline_name="live, status=verified",
                            goal="≤ 1.0",
                        )
                    )
        finally:
            snapshot.drop(release.storage, snapshot.database())
            Release.objects.filter(pk=release.pk).delete()
    return figures
