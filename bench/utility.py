"""What protection costs analysts: their figures against the exact ones, and how many are shown.

    python bench/utility.py [--sizes 10000,100000] [--label after]

For each size, on the benchmark's registry of that many synthetic cases
(`registry_bench_<size>`, built as bench/run.py builds it), every table below is
computed twice in this process through the domain (`registry.stats`): as an
analyst sees it and exactly, for the same (verified) cases. Reported per family:

- cells: those holding at least one case, and the share an analyst is shown;
- error: mean and largest absolute difference between an analyst's figure and
  the exact one, over the figures shown (counts in cases; survival and shares as
  proportions; quartiles in months).

Only public domain functions are called, so the same script measures any
checkout: run it from main's directory for "before" and from a branch for
"after" (`cd /work/main && python /path/to/bench/utility.py --label before`).
Results go to bench/results/utility-<label>.json and a table on stdout.
"""

import argparse
import json
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path.cwd()))

FILTERS = ({}, {"sex": ("female",)}, {"period": ("2015-2019",)}, {"primary_category": ("C50",)})
COUNT_TABLES = (
    ("sites", "code"),
    ("sites", "category"),
    ("sites", "site_group"),
    ("counts", "sex"),
    ("counts", "age_band"),
    ("counts", "period"),
    ("counts", "subtype"),
    ("counts", "primary_category"),
)


@dataclass
class Family:
    """One family of figures: how many exist, how many an analyst sees, how wrong they are."""

    cells: int = 0
    shown: int = 0
    errors: list[float] = field(default_factory=list)

    def add(self, exact, seen) -> None:
        self.cells += 1
        if seen is not None:
            self.shown += 1
            if exact is not None:
                self.errors.append(abs(seen - exact))

    def summary(self) -> dict:
        return {
            "cells": self.cells,
            "shown": self.shown,
            "share_shown": round(self.shown / self.cells, 4) if self.cells else None,
            "mean_error": round(statistics.fmean(self.errors), 4) if self.errors else None,
            "largest_error": round(max(self.errors), 4) if self.errors else None,
        }


def measure(size: int) -> dict:
    from registry.models import Role, User
    from registry.selectors import CaseFilters, CountedSelection
    from registry.stats import Dimension, dimension_counts, intervals, site_counts
    from registry.stats.shares import site_shares
    from registry.stats.survival import survival

    analyst, curator = User(role=Role.ANALYST), User(role=Role.CURATOR)
    from registry.access import statistics_access

    protect = statistics_access(analyst)
    families = {name: Family() for name in ("counts", "survival", "quartiles", "shares")}
    for given in FILTERS:
        filters = CaseFilters(**given)
        analysts = CountedSelection(analyst, filters)
        # The truth: the same cases (verified) counted exactly.
        exact = CountedSelection(curator, CaseFilters(**given, status=("verified",)))
        for kind, level in COUNT_TABLES:
            if kind == "sites":
                table = site_counts(selection=analysts, group_by=level)
            else:
                table = dimension_counts(selection=analysts, dimension=Dimension(level))
            seen = {row.key: row.cases for row in table.protected(protect).rows}
            for row in table.rows:
                if row.cases:
                    families["counts"].add(row.cases, seen.get(row.key))
        for by in (None, Dimension.SITE_GROUP, Dimension.SEX):
            truth = survival(selection=exact, by=by)
            shown = survival(selection=analysts, by=by)
            seen_groups = {g.key: g for g in (shown.overall, *shown.groups) if g is not None}
            for group in (truth.overall, *truth.groups):
                if group is None:
                    continue
                curve = {p.months: p.survival for p in group.points}
                mine = seen_groups.get(group.key)
                mine_points = {p.months: p.survival for p in (mine.points if mine else ())}
                for months, value in curve.items():
                    families["survival"].add(value, mine_points.get(months))
        for level in ("site_group", "category"):
            truth = {row.key: row for row in intervals(selection=exact, group_by=level).rows}
            seen = {row.key: row for row in intervals(selection=analysts, group_by=level).rows}
            for key, row in truth.items():
                for name in ("q1", "median", "q3"):
                    mine = getattr(seen[key], name) if key in seen else None
                    families["quartiles"].add(getattr(row, name), mine)
        truth = {row.key: row for row in site_shares(selection=exact, group_by="site_group").rows}
        seen = {row.key: row for row in site_shares(selection=analysts, group_by="site_group").rows}
        for key, row in truth.items():
            families["shares"].add(row.share, seen[key].share if key in seen else None)
    return {"size": size, **{name: family.summary() for name, family in families.items()}}


def log_cost(size: int) -> dict | None:
    """The analysts' query log's INSERT against the analyst's request it rides on, in one run.

    With 500 tables already logged today for the analyst (the default budget), the
    median time of logging one more, over the median time of counting and protecting
    a per-site table for that analyst. None where the checkout has no query log.
    """
    import time

    try:
        from registry.services.statistics_log import statistics_query_record
    except ImportError:
        return None
    from django.db import transaction

    from registry.access import statistics_access
    from registry.models import Role, User
    from registry.selectors import CaseFilters, CountedSelection
    from registry.stats import site_counts

    def median_seconds(action, repeats: int) -> float:
        times = []
        for index in range(repeats):
            started = time.perf_counter()
            action(index)
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    with transaction.atomic():
        analyst = User.objects.create(username="bench-utility-analyst", role=Role.ANALYST)
        for index in range(500):
            statistics_query_record(
                user=analyst, endpoint="sites", parameters={"n": index}, budget=10**9
            )
        logging = median_seconds(
            lambda i: statistics_query_record(
                user=analyst, endpoint="sites", parameters={"n": 1000 + i}, budget=10**9
            ),
            200,
        )
        selection = CountedSelection(analyst, CaseFilters())
        protect = statistics_access(analyst)
        counting = median_seconds(
            lambda i: site_counts(selection=selection, group_by="site_group").protected(protect),
            20,
        )
        transaction.set_rollback(True)
    return {
        "log_ms": round(logging * 1000, 3),
        "request_ms": round(counting * 1000, 3),
        "ratio": round(logging / counting, 4),
    }


def measure_in_child(size: int, out: Path) -> None:
    from bench.environment import django_setup, ensure_database, ensure_size, size_database

    ensure_database(size_database(size))
    django_setup(size)
    import io

    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("load_vocabularies", stdout=io.StringIO())
    ensure_size(size)
    out.write_text(json.dumps({**measure(size), "log_cost": log_cost(size)}))


def table(results: list[dict], label: str) -> str:
    lines = [
        f"Analysts' figures against the exact ones ({label})",
        "",
        "| cases | family | cells | shown | share shown | mean error | largest error |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        for name in ("counts", "survival", "quartiles", "shares"):
            f = result[name]
            lines.append(
                f"| {result['size']:,} | {name} | {f['cells']} | {f['shown']} | "
                f"{f['share_shown']} | {f['mean_error']} | {f['largest_error']} |"
            )
    for result in results:
        cost = result.get("log_cost")
        if cost:
            lines.append(
                f"\n{result['size']:,} cases: logging a question {cost['log_ms']} ms, an "
                f"analyst's per-site table {cost['request_ms']} ms (ratio {cost['ratio']})"
            )
    return "\n".join(lines)


def main() -> None:
    import subprocess
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--label", default="after")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        measure_in_child(args.child, args.out)
        return
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        # A child per size: Django's database is fixed per process.
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            command = [sys.executable, __file__, "--child", str(size), "--out", out.name]
            subprocess.run(command, check=True)
            results.append(json.loads(Path(out.name).read_text()))
    written = Path(__file__).resolve().parent / "results" / f"utility-{args.label}.json"
    written.parent.mkdir(exist_ok=True)
    written.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results, args.label))


if __name__ == "__main__":
    main()
