"""The registry's benchmark: each figure as a ratio to the physical limit it stands against.

    python bench/run.py [--sizes 10000,100000,1000000] [--runs 5] [--seconds 8]

For each registry size a database `registry_bench_<size>` is built once with
`manage.py synth` (and reused while it holds exactly that many synthetic cases),
then served by gunicorn on 127.0.0.1 (2 sync workers, DEBUG off) and measured
against baselines taken in the same run, on the same machine (bench/measures/):

1. per-site counts through `/api/v1/stats/` ÷ the raw SQL `GROUP BY` on the base
   tables (goal ≤ 1.0, with identical counts), for several filter combinations;
2. batch ingest through `/api/v1/cases/batch/` ÷ a raw `COPY` of the same rows into
   scratch copies of the tables (goal ≥ 0.25);
3. single-case `POST` throughput ÷ a bare Django view returning constant JSON on
   the same server and workers (goal ≥ 0.30), both driven by wrk;
4. list page latency at page sizes 10 and 100, with the queries each page costs;
5. the slowest valid request of each kind: the largest batch the work budget allows,
   one case at the per-case caps, the adversarial-text batch of issue 23 and the
   heaviest analyst cross-table (how long a request can hold a worker; goal <= 5 s).

Every figure is measured `--runs` times: the table gives the median and the
min–max spread. Results go to bench/results/ (results.md, results.json,
bench.png; never into docs/, bench/report.py). Each size runs
in a child process of its own, since Django's settings (the database) are fixed
per process.
"""

import argparse
import io
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import report
from bench.environment import (
    RESULTS,
    ROOT,
    django_setup,
    ensure_database,
    ensure_size,
    machine_description,
    say,
    size_database,
)
from bench.figures import Figure
from bench.session import Session, Settings

DEFAULT_SIZES = (10_000, 100_000, 1_000_000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(str(s) for s in DEFAULT_SIZES))
    parser.add_argument("--runs", type=int, default=5, help="repetitions of each figure (5)")
    parser.add_argument("--seconds", type=int, default=8, help="wrk run length in seconds (8)")
    parser.add_argument("--batches", type=int, default=3, help="batches of 1,000 per ingest run")
    parser.add_argument(
        "--replot", action="store_true", help="redraw the plot from bench/results/results.json"
    )
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    settings = Settings(runs=args.runs, seconds=args.seconds, batches=args.batches)
    if args.child:
        measure_size(args.child, settings, args.out)
    elif args.replot:
        report.replot()
    else:
        measure_sizes([int(size.replace("_", "")) for size in args.sizes.split(",")], settings)


def measure_sizes(sizes: list[int], settings: Settings) -> None:
    """Every size in a child process, then the report of them all."""
    if shutil.which("wrk") is None:
        sys.exit("bench: wrk is not installed (apt-get install wrk; `make bench` does it).")
    started = time.monotonic()
    # The servers' SECRET_KEY and pseudonym key, all sizes; production refuses them equal.
    secret, pseudonym_key = secrets.token_urlsafe(50), secrets.token_urlsafe(50)
    machine = machine_description()
    say(f"bench: {machine['summary']}")
    figures: list[Figure] = []
    synth: dict[int, dict] = {}
    for size in sizes:
        say(f"bench: {size:,} cases")
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            command = [sys.executable, __file__, "--child", str(size), "--out", out.name]
            command += ["--runs", str(settings.runs), "--seconds", str(settings.seconds)]
            command += ["--batches", str(settings.batches)]
            child_env = {
                **os.environ,
                "SECRET_KEY": secret,
                "REGISTRY_PSEUDONYM_KEY": pseudonym_key,
                "REGISTRY_CELL_KEY_SECRET": secrets.token_urlsafe(50),
            }
            subprocess.run(command, check=True, env=child_env)
            result = json.loads(Path(out.name).read_text())
        figures += [Figure(**figure) for figure in result["figures"]]
        synth[size] = result["synth"]
    minutes = (time.monotonic() - started) / 60
    print(report.write(figures, synth, machine, minutes, settings.runs, settings.seconds))
    say(f"bench: wrote {RESULTS.relative_to(ROOT)}/ (copy bench.png to docs/ to publish it)")


def measure_size(size: int, settings: Settings, out: Path) -> None:
    """In a child process: build or reuse the registry of `size` cases and measure it."""
    ensure_database(size_database(size))
    django_setup(size)
    from django.core.management import call_command

    from bench.measures import MEASURES

    call_command("migrate", verbosity=0)
    call_command("load_vocabularies", stdout=io.StringIO())
    synth = ensure_size(size)
    session = Session(size, settings)
    figures: list[Figure] = []
    try:
        for label, measure in MEASURES:
            say(f"bench: {size:,} cases: {label}")
            figures += measure(session)
    finally:
        session.close()
    out.write_text(json.dumps({"synth": synth, "figures": [asdict(f) for f in figures]}))


if __name__ == "__main__":
    main()
