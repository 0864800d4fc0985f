"""The registry's benchmark: each figure as a ratio to the physical limit it stands against.

    python bench/run.py [--sizes 10000,100000,1000000] [--runs 5] [--seconds 10]

For each registry size a database `registry_bench_<size>` is built once with
`manage.py synth` (and reused while it holds exactly that many synthetic cases),
then served by gunicorn on 127.0.0.1 (2 sync workers, DEBUG off) and measured
against baselines taken in the same run, on the same machine:

1. per-site counts through `/api/v1/stats/` ÷ the raw SQL `GROUP BY` on the base
   tables (goal ≤ 1.0, with identical counts), for several filter combinations;
2. batch ingest through `/api/v1/cases/batch/` ÷ a raw `COPY` of the same rows into
   scratch copies of the tables (goal ≥ 0.25);
3. single-case `POST` throughput ÷ a bare Django view returning constant JSON on
   the same server and workers (goal ≥ 0.30), both driven by wrk;
4. list page latency at page sizes 10 and 100, with the queries each page costs;
5. the slowest valid request of each kind: the largest batch the work budget allows
   and one case at the per-case caps (how long a request can hold a worker).

Every figure is measured `--runs` times: the table gives the median and the
min–max spread. Results go to bench/results/ (results.md, results.json,
bench.png) and the plot also to docs/bench.png. Each size runs in a child
process of its own, since Django's settings (the database) are fixed per process.
"""

import argparse
import io
import json
import os
import platform
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PLOT_COPY = ROOT / "docs" / "bench.png"
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
BASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/registry_bench")
WORKERS = 2
SEED = 1  # the registry's cases
INGEST_SEED = 2  # cases the benchmark submits (other local_ids, same generator)
INGEST_INSTITUTION = "bench-ingest"
BATCH_SIZE = 1000

sys.path.insert(0, str(ROOT))
from bench.server import Gunicorn  # noqa: E402

# ---------------------------------------------------------------- results


@dataclass
class Figure:
    """One row of the table: a measurement, its baseline, their ratio and the goal."""

    name: str
    size: int
    unit: str  # "ms" (lower is better) or "/s" (higher is better)
    measured: list[float]
    baseline: list[float] = field(default_factory=list)
    baseline_name: str = ""
    goal: str = ""
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if not self.measured or not self.baseline:
            return None
        return statistics.median(self.measured) / statistics.median(self.baseline)

    @property
    def met(self) -> bool | None:
        ratio = self.ratio
        if ratio is None or not self.goal:
            return None
        sign, value = self.goal.split()
        return ratio <= float(value) if sign == "≤" else ratio >= float(value)


def spread(values: list[float], unit: str) -> str:
    if not values:
        return "n/a"
    digits = 0 if max(values) >= 100 else 1 if max(values) >= 10 else 2
    median = statistics.median(values)
    return f"{median:,.{digits}f} {unit} ({min(values):,.{digits}f}–{max(values):,.{digits}f})"


def table(figures: list[Figure]) -> str:
    lines = [
        "| figure | cases | measured: median (min–max) | baseline: median (min–max) "
        "| ratio | goal | met | note |",
        "|---|--:|--:|--:|--:|--:|:-:|---|",
    ]
    for figure in figures:
        ratio = figure.ratio
        met = {True: "yes", False: "**no**", None: ""}[figure.met]
        measured = spread(figure.measured, figure.unit) if figure.measured else "n/a"
        baseline = (
            f"{spread(figure.baseline, figure.unit)} {figure.baseline_name}"
            if figure.baseline
            else ""
        )
        lines.append(
            f"| {figure.name} | {figure.size:,} | {measured} | {baseline} | "
            f"{'' if ratio is None else f'{ratio:.2f}'} | {figure.goal} | {met} | {figure.note} |"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------- parent: all sizes


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
    if args.child:
        child(args.child, args)
        return
    if args.replot:
        saved = json.loads((RESULTS / "results.json").read_text())["figures"]
        plot(
            [Figure(**{k: v for k, v in f.items() if k != "ratio"}) for f in saved],
            RESULTS / "bench.png",
        )
        shutil.copyfile(RESULTS / "bench.png", PLOT_COPY)
        return

    if shutil.which("wrk") is None:
        sys.exit("bench: wrk is not installed (apt-get install wrk; `make bench` does it).")
    sizes = [int(size.replace("_", "")) for size in args.sizes.split(",")]
    started = time.monotonic()
    secret = secrets.token_urlsafe(50)
    machine = machine_description()
    say(f"bench: {machine['summary']}")
    figures: list[Figure] = []
    synth: dict[int, dict] = {}
    for size in sizes:
        say(f"bench: {size:,} cases")
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            command = [sys.executable, __file__, "--child", str(size), "--out", out.name]
            command += ["--runs", str(args.runs), "--seconds", str(args.seconds)]
            command += ["--batches", str(args.batches)]
            child_env = {**os.environ, "SECRET_KEY": secret, "REGISTRY_PSEUDONYM_KEY": secret}
            subprocess.run(command, check=True, env=child_env)
            result = json.loads(Path(out.name).read_text())
        figures += [Figure(**figure) for figure in result["figures"]]
        synth[size] = result["synth"]
    minutes = (time.monotonic() - started) / 60
    report = render(figures, synth, machine, minutes, args)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "results.md").write_text(report)
    (RESULTS / "results.json").write_text(
        json.dumps(
            {
                "machine": machine,
                "minutes": minutes,
                "synth": synth,
                "figures": [asdict(figure) | {"ratio": figure.ratio} for figure in figures],
            },
            indent=2,
        )
    )
    plot(figures, RESULTS / "bench.png")
    PLOT_COPY.parent.mkdir(exist_ok=True)
    shutil.copyfile(RESULTS / "bench.png", PLOT_COPY)
    print(report)
    say(f"bench: wrote {RESULTS.relative_to(ROOT)}/ and {PLOT_COPY.relative_to(ROOT)}")


def render(figures, synth, machine, minutes, args) -> str:
    built = [
        f"{size:,}: built in {info['seconds']:,.0f} s ({info['cases_per_second']:,.0f} cases/s)"
        if info["seconds"] is not None
        else f"{size:,}: reused"
        for size, info in synth.items()
    ]
    return "\n".join(
        [
            f"Machine: {machine['summary']}.",
            f"Server: gunicorn, {WORKERS} sync workers, DEBUG off, on 127.0.0.1; "
            f"{args.runs} runs per figure (wrk: {args.seconds} s each). "
            f"Synthetic registries ({'; '.join(built)}). Whole run: {minutes:.1f} min.",
            "",
            table(figures),
            "",
        ]
    )


def plot(figures: list[Figure], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    ratios = [f for f in figures if f.baseline]
    latencies = [f for f in figures if not f.baseline and f.measured]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
    for name in dict.fromkeys(f.name for f in ratios):
        points = [(f.size, f.ratio) for f in ratios if f.name == name]
        left.plot(*zip(*points, strict=True), marker="o", label=name)
    for goal, style, text in (
        (1.0, ":", "stats goal ≤ 1.0"),
        (0.3, "--", "POST goal ≥ 0.30"),
        (0.25, "-.", "batch goal ≥ 0.25"),
    ):
        left.axhline(goal, color="grey", linestyle=style, linewidth=0.8)
        left.annotate(
            text,
            (0.01, goal),
            xycoords=("axes fraction", "data"),
            fontsize=7,
            color="grey",
            va="bottom",
        )
    left.set(xscale="log", yscale="log", xlabel="cases in the registry", ylabel="ratio to baseline")
    left.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    left.set_title("Each figure ÷ its physical limit (higher is better, except stats)")
    left.legend(fontsize=7)
    for name in dict.fromkeys(f.name for f in latencies):
        points = [(f.size, statistics.median(f.measured)) for f in latencies if f.name == name]
        right.plot(*zip(*points, strict=True), marker="o", label=name)
    right.set(xscale="log", yscale="log", xlabel="cases in the registry", ylabel="median ms")
    right.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    right.yaxis.set_minor_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    right.set_title("List page latency")
    right.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def machine_description() -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown CPU",
    )
    memory_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    import psycopg

    with psycopg.connect(database_url("postgres")) as conn:
        server = conn.execute("SHOW server_version").fetchone()[0]
    cores = os.cpu_count()
    summary = (
        f"{cores} cores ({cpu}), {memory_kb / 1024**2:.0f} GiB RAM, "
        f"PostgreSQL {server.split()[0]}, Python {platform.python_version()}, {platform.system()}"
    )
    return {
        "cores": cores,
        "cpu": cpu,
        "memory_kb": memory_kb,
        "postgres": server,
        "summary": summary,
    }


def database_url(name: str) -> str:
    return BASE_URL.rsplit("/", 1)[0] + "/" + name


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- child: one size


def child(size: int, args) -> None:
    name = BASE_URL.rsplit("/", 1)[1] + f"_{size}"
    ensure_database(name)
    os.environ.update(server_environment(database_url(name)))
    # WhiteNoise notes that static files were not collected; the API needs none.
    warnings.filterwarnings("ignore", message="No directory at")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("load_vocabularies", stdout=io.StringIO())
    synth = ensure_size(size)
    bench = Bench(size, args)
    try:
        figures = bench.run()
    finally:
        bench.close()
    args.out.write_text(json.dumps({"synth": synth, "figures": [asdict(f) for f in figures]}))


def ensure_database(name: str) -> None:
    import psycopg

    with psycopg.connect(database_url("postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            say(f"bench: creating database {name}")
            conn.execute(f'CREATE DATABASE "{name}"')


def local_redis() -> dict[str, str]:
    """REDIS_URL of the machine's Redis, if one answers: the shared cache production uses.

    Without it the throttle counters live in a database table, which a benchmark of
    the database's own work would also be measuring.
    """
    if os.environ.get("REDIS_URL"):
        return {"REDIS_URL": os.environ["REDIS_URL"]}
    import socket

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        return {}
    return {"REDIS_URL": "redis://127.0.0.1:6379/15"}


def server_environment(url: str) -> dict[str, str]:
    """Production settings but plain HTTP on loopback, and no throttling in the way."""
    return {
        **local_redis(),
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DEBUG": "false",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
        "REGISTRY_PSEUDONYM_KEY": os.environ.get("REGISTRY_PSEUDONYM_KEY")
        or secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "API_RATE_PER_TOKEN": "100000000/minute",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }


def ensure_size(size: int) -> dict:
    """Build the registry with `size` synthetic cases, or reuse it if it has exactly that."""
    from django.core.management import call_command

    from registry.services.synthetic import synthetic_case_count

    present = synthetic_case_count()
    if present == size:
        say(f"bench: reusing {size:,} synthetic cases")
        return {"seconds": None, "cases_per_second": None, "reused": True}
    started = time.monotonic()
    if present < size:
        call_command("synth", cases=size - present, seed=SEED, stdout=sys.stderr)
    else:
        call_command("synth", cases=size, seed=SEED, reset=True, stdout=sys.stderr)
    seconds = time.monotonic() - started
    return {"seconds": seconds, "cases_per_second": (size - present) / seconds, "reused": False}


class Bench:
    """One size: a gunicorn server, tokens, the measurements and their clean-up."""

    def __init__(self, size: int, args):
        from registry.models import Institution, Role, User
        from registry.services.tokens import token_issue

        self.size = size
        self.args = args
        self.run_id = secrets.token_hex(4)
        self.institution, _ = Institution.objects.get_or_create(
            code=INGEST_INSTITUTION, defaults={"name": "Benchmark ingest", "country": "FR"}
        )
        self.purge()
        curator, _ = User.objects.get_or_create(
            username="bench-curator", defaults={"role": Role.CURATOR}
        )
        analyst, _ = User.objects.get_or_create(
            username="bench-analyst", defaults={"role": Role.ANALYST}
        )
        submitter, _ = User.objects.get_or_create(
            username="bench-submitter",
            defaults={"role": Role.SUBMITTER, "institution": self.institution},
        )
        self.curator_token = token_issue(user=curator, name="bench", valid_days=1)[1]
        self.submitter_token = token_issue(user=submitter, name="bench", valid_days=1)[1]
        self.analyst_token = token_issue(user=analyst, name="bench", valid_days=1)[1]
        self.server = Gunicorn(os.environ.copy(), WORKERS, timeout=600)
        self.base = self.server.start()

    def close(self) -> None:
        self.server.stop()
        self.purge()

    def purge(self) -> None:
        """Remove what earlier measurements wrote, so every run meets the same registry."""
        from registry.models import ApiToken, IdempotencyRecord
        from registry.services.synthetic import institution_cases_purge

        institution_cases_purge(institution_ids=[self.institution.pk])
        IdempotencyRecord.objects.filter(user__username__startswith="bench-").delete()
        ApiToken.objects.filter(user__username__startswith="bench-").delete()

    def run(self) -> list[Figure]:
        figures = []
        measures = (
            self.stats,
            self.analyst_stats,
            self.clinical,
            self.ingest,
            self.single_post,
            self.list_pages,
            self.slowest_valid,
        )
        for measure in measures:
            say(f"bench: {self.size:,} cases: {measure.__name__.replace('_', ' ')}")
            figures += measure()
        return figures

    # ------------------------------------------------------------ 1. statistics

    # (label, query parameters, the same selection as SQL on registry_case c)
    # Analysts ask the same in the published dictionary's words (age bands, periods).
    ANALYST_PARAMS = {
        "breast primaries, verified": {"primary_category": "C50"},
        "women 50-69, diagnosed 2015+": {
            "sex": "female",
            "age_band": "50-69",
            "period": "2015-2019,2020-2024,2025-2029",
        },
    }
    STATS_FILTERS = (
        ("all cases", {}, ""),
        (
            "breast primaries, verified",
            {"primary_category": "C50", "status": "verified"},
            "c.primary_site_id LIKE 'C50.%%' AND c.status = 'verified'",
        ),
        (
            "women 50-69, diagnosed 2015+",
            {"sex": "female", "age_min": 50, "age_max": 69, "year_min": 2015},
            "c.sex = 'female' AND c.age_at_diagnosis BETWEEN 50 AND 69 "
            "AND c.year_of_diagnosis >= 2015",
        ),
        ("triple-negative", {"subtype": "triple_negative"}, "c.subtype_id = 'triple_negative'"),
        (
            "cases with a skin metastasis",
            {"site_group": "Skin"},
            "EXISTS (SELECT 1 FROM registry_metastasis s JOIN registry_topography t "
            "ON t.code = s.site_id WHERE s.case_id = c.id AND t.site_group = 'Skin')",
        ),
    )

    def stats(self) -> list[Figure]:
        if not route_exists("/api/v1/stats/"):
            return [
                Figure(f"stats: {label}", self.size, "ms", [], note="n/a (endpoint missing)")
                for label, _, _ in self.STATS_FILTERS
            ]
        import httpx
        from django.db import connection

        figures = []
        headers = {"Authorization": f"Bearer {self.curator_token}"}
        with httpx.Client(base_url=self.base, headers=headers, timeout=300) as client:
            for label, params, where in self.STATS_FILTERS:
                query = {"group_by": "code", **params}
                # Cases (once per site) and metastases per site code: what the endpoint says.
                sql = (
                    "SELECT m.site_id, count(DISTINCT m.case_id), count(*) "
                    "FROM registry_metastasis m JOIN registry_case c ON c.id = m.case_id "
                    f"{'WHERE ' + where if where else ''} GROUP BY m.site_id"
                )
                api_times, sql_times = [], []
                api_counts = sql_counts = None
                for run in range(self.args.runs + 1):  # the first of each is a warm-up
                    started = time.perf_counter()
                    response = client.get("/api/v1/stats/", params=query)
                    elapsed = time.perf_counter() - started
                    response.raise_for_status()
                    api_counts = site_counts_from(response.json())
                    with connection.cursor() as cursor:
                        started = time.perf_counter()
                        cursor.execute(sql)
                        rows = cursor.fetchall()
                        sql_elapsed = time.perf_counter() - started
                    sql_counts = {site: (cases, deposits) for site, cases, deposits in rows}
                    if run:
                        api_times.append(elapsed * 1000)
                        sql_times.append(sql_elapsed * 1000)
                same = api_counts == sql_counts
                figures.append(
                    Figure(
                        f"stats: {label}",
                        self.size,
                        "ms",
                        api_times,
                        sql_times,
                        "SQL GROUP BY",
                        "≤ 1.0",
                        note=f"same counts ({len(sql_counts)} sites)"
                        if same
                        else "**counts differ**",
                    )
                )
                if not same:
                    say(f"bench: stats counts differ for {label}: {diff(api_counts, sql_counts)}")
        return figures

    def analyst_stats(self) -> list[Figure]:
        """An analyst's per-site counts: time next to a curator's, and their error.

        The error is that of every published count of cases and metastases against
        the raw SQL count of the same verified cases (cells of at least 11 cases).
        """
        import httpx
        from django.db import connection

        figures = []
        clients = {
            role: httpx.Client(
                base_url=self.base, headers={"Authorization": f"Bearer {token}"}, timeout=300
            )
            for role, token in (("analyst", self.analyst_token), ("curator", self.curator_token))
        }
        for label, params, where in self.STATS_FILTERS:
            analyst_params = self.ANALYST_PARAMS.get(label, params)
            verified = " AND ".join(filter(None, [where, "c.status = 'verified'"]))
            times = {"analyst": [], "curator": []}
            body = None
            for run in range(self.args.runs + 1):  # the first of each is a warm-up
                for role, query in (
                    ("analyst", analyst_params),
                    ("curator", {**params, "status": "verified"}),
                ):
                    started = time.perf_counter()
                    response = clients[role].get(
                        "/api/v1/stats/", params={"group_by": "code", **query}
                    )
                    elapsed = time.perf_counter() - started
                    response.raise_for_status()
                    if run:
                        times[role].append(elapsed * 1000)
                    if role == "analyst":
                        body = response.json()
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT m.site_id, count(DISTINCT m.case_id), count(*) "
                    "FROM registry_metastasis m JOIN registry_case c ON c.id = m.case_id "
                    f"WHERE {verified} GROUP BY m.site_id"
                )
                truth = {site: (cases, lesions) for site, cases, lesions in cursor.fetchall()}
            errors = [
                abs(shown - exact)
                for site, (cases, lesions) in site_counts_from(body).items()
                for shown, exact in zip((cases, lesions), truth.get(site, (0, 0)), strict=True)
            ]
            note = (
                f"error on {len(errors)} published counts: mean {statistics.mean(errors):.2f}, "
                f"max {max(errors)}"
                if errors
                else "nothing published"
            )
            figures.append(
                Figure(
                    f"stats analyst ÷ curator: {label}",
                    self.size,
                    "ms",
                    times["analyst"],
                    times["curator"],
                    "curator",
                    "≤ 1.5",
                    note=note,
                )
            )
        for client in clients.values():
            client.close()
        return figures

    # ------------------------------------------------------------ 1b. clinical analytics

    # (label, endpoint, analyst's query): timed for an analyst, without a raw SQL twin.
    CLINICAL_QUERIES = (
        (
            "survival by site group, breast",
            "survival/",
            {"primary_category": "C50", "by": "site_group"},
        ),
        ("site shares, breast", "site-shares/", {"primary_category": "C50", "group_by": "code"}),
        ("profile breast -> scalp", "profile/", {"primary_category": "C50", "site": "C44.4"}),
    )

    def clinical(self) -> list[Figure]:
        """Counts by presentation ÷ raw SQL (same counts?); the new endpoints' time."""
        if not route_exists("/api/v1/stats/survival/"):
            return [Figure("clinical", self.size, "ms", [], note="n/a (endpoint missing)")]
        import httpx
        from django.db import connection

        figures = []
        sql = (
            "SELECT m.presentation, count(DISTINCT m.case_id) FROM registry_metastasis m "
            "JOIN registry_case c ON c.id = m.case_id WHERE c.primary_site_id LIKE 'C50.%%' "
            "AND c.status = 'verified' GROUP BY m.presentation"
        )
        query = {"by": "presentation", "primary_category": "C50", "status": "verified"}
        curator = httpx.Client(
            base_url=self.base,
            headers={"Authorization": f"Bearer {self.curator_token}"},
            timeout=600,
        )
        analyst = httpx.Client(
            base_url=self.base,
            headers={"Authorization": f"Bearer {self.analyst_token}"},
            timeout=600,
        )
        api_times, sql_times, api_counts, sql_counts = [], [], None, None
        for run in range(self.args.runs + 1):  # the first of each is a warm-up
            started = time.perf_counter()
            response = curator.get("/api/v1/stats/counts/", params=query)
            elapsed = time.perf_counter() - started
            response.raise_for_status()
            api_counts = {row["key"]: row["cases"] for row in response.json()["rows"]}
            with connection.cursor() as cursor:
                started = time.perf_counter()
                cursor.execute(sql)
                sql_counts = dict(cursor.fetchall())
                sql_elapsed = time.perf_counter() - started
            if run:
                api_times.append(elapsed * 1000)
                sql_times.append(sql_elapsed * 1000)
        same = api_counts == sql_counts
        figures.append(
            Figure(
                "stats: presentation, breast",
                self.size,
                "ms",
                api_times,
                sql_times,
                "SQL GROUP BY",
                "≤ 1.0",
                note="same counts" if same else "**counts differ**",
            )
        )
        for label, path, params in self.CLINICAL_QUERIES:
            times = []
            for run in range(self.args.runs + 1):
                started = time.perf_counter()
                response = analyst.get(f"/api/v1/stats/{path}", params=params)
                elapsed = time.perf_counter() - started
                response.raise_for_status()
                if run:
                    times.append(elapsed * 1000)
            figures.append(Figure(f"analyst {label}", self.size, "ms", times, note="no raw twin"))
        curator.close()
        analyst.close()
        return figures

    # ------------------------------------------------------------ 2. batch ingest

    def ingest(self) -> list[Figure]:
        if not route_exists("/api/v1/cases/batch/", name="batch"):
            return [Figure("batch ingest", self.size, "/s", [], note="n/a (endpoint missing)")]
        import httpx

        from registry.synthetic import generate_cases

        count = self.args.batches * BATCH_SIZE
        api_rates, copy_rates = [], []
        headers = {"Authorization": f"Bearer {self.submitter_token}"}
        with httpx.Client(base_url=self.base, headers=headers, timeout=600) as client:
            for run in range(self.args.runs + 1):
                prefix = f"bench-{self.run_id}-{run}-"
                cases = list(generate_cases(INGEST_SEED, run * count, count, prefix))
                bodies = [
                    json.dumps({"cases": [c.payload() for c in cases[i : i + BATCH_SIZE]]})
                    for i in range(0, count, BATCH_SIZE)
                ]
                started = time.perf_counter()
                for body in bodies:
                    response = client.post(
                        "/api/v1/cases/batch/",
                        content=body,
                        headers={"Content-Type": "application/json"},
                    )
                    response.raise_for_status()
                    check_batch(response.json())
                elapsed = time.perf_counter() - started
                copy_seconds = self.copy_baseline(cases)
                self.purge_cases()
                if run:  # the first is a warm-up
                    api_rates.append(count / elapsed)
                    copy_rates.append(count / copy_seconds)
        return [
            Figure(
                f"batch ingest ({BATCH_SIZE:,}/request)",
                self.size,
                "cases/s",
                api_rates,
                copy_rates,
                "COPY",
                "≥ 0.25",
            )
        ]

    def copy_baseline(self, cases) -> float:
        """Seconds to COPY the same cases' rows into empty copies of the base tables."""
        from django.db import connection, transaction

        from registry.services.synthetic import copy_lines
        from registry.synthetic import INSTITUTION_COUNT

        tables = ("registry_case", "registry_metastasis", "registry_treatment")
        metastases = sum(len(c.metastases) for c in cases)
        treatments = sum(len(c.treatments) for c in cases)
        ids = {
            "registry_case": range(1, len(cases) + 1),
            "registry_metastasis": range(1, metastases + 1),
            "registry_treatment": range(1, treatments + 1),
        }
        every_hospital = dict.fromkeys(range(1, INSTITUTION_COUNT + 1), self.institution.pk)
        lines = copy_lines(cases, ids | _history_ids(ids), every_hospital, INGEST_SEED)
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA IF EXISTS bench_scratch CASCADE")
            cursor.execute("CREATE SCHEMA bench_scratch")
            for table in tables:
                cursor.execute(
                    f"CREATE TABLE bench_scratch.{table} (LIKE public.{table} INCLUDING ALL)"
                )
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            for table in tables:
                columns, rows = lines[table]
                statement = f"COPY bench_scratch.{table} ({', '.join(columns)}) FROM STDIN"
                with cursor.cursor.copy(statement) as copy:
                    copy.write("".join(rows))
        elapsed = time.perf_counter() - started
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA bench_scratch CASCADE")
        return elapsed

    def purge_cases(self) -> None:
        from registry.services.synthetic import institution_cases_purge

        institution_cases_purge(institution_ids=[self.institution.pk])

    # ------------------------------------------------------------ 3. single POST

    def single_post(self) -> list[Figure]:
        body = json.loads((ROOT / "seeds" / "cases" / "founding_case.json").read_text())
        payload = body["cases"][0] | {"local_id": "LOCAL_ID_HERE"}
        post_rates, bare_rates = [], []
        with tempfile.NamedTemporaryFile("w", suffix=".json") as body_file:
            body_file.write(json.dumps(payload))
            body_file.flush()
            for run in range(self.args.runs + 1):
                env = {
                    "BENCH_TOKEN": self.submitter_token,
                    "BENCH_BODY": body_file.name,
                    "BENCH_PREFIX": f"bench-{self.run_id}-post{run}",
                }
                post = wrk(
                    f"{self.base}/api/v1/cases/",
                    self.args.seconds,
                    script=ROOT / "bench" / "post.lua",
                    env=env,
                )
                bare = wrk(f"{self.base}/bench/constant", self.args.seconds)
                self.purge_cases()
                if run:
                    post_rates.append(post)
                    bare_rates.append(bare)
        return [
            Figure(
                "single POST (founding case)",
                self.size,
                "req/s",
                post_rates,
                bare_rates,
                "bare view",
                "≥ 0.30",
            )
        ]

    # ------------------------------------------------------------ 4. list pages

    def list_pages(self) -> list[Figure]:
        import httpx

        figures = []
        headers = {"Authorization": f"Bearer {self.curator_token}"}
        queries = {size: self.count_queries(size) for size in (10, 100)}
        with httpx.Client(base_url=self.base, headers=headers, timeout=60) as client:
            for page_size in (10, 100):
                times = []
                for run in range(self.args.runs * 4 + 1):
                    started = time.perf_counter()
                    response = client.get("/api/v1/cases/", params={"page_size": page_size})
                    elapsed = time.perf_counter() - started
                    response.raise_for_status()
                    assert len(response.json()["results"]) == page_size
                    if run:
                        times.append(elapsed * 1000)
                figures.append(
                    Figure(
                        f"list page of {page_size}",
                        self.size,
                        "ms",
                        times,
                        note=f"{queries[page_size]} queries per page",
                    )
                )
        return figures

    def count_queries(self, page_size: int) -> int:
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {self.curator_token}")
        client.get("/api/v1/cases/", {"page_size": page_size})  # token last-use mark, caches
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/api/v1/cases/", {"page_size": page_size})
        assert response.status_code == 200, response.content[:200]
        return len(queries)

    # ------------------------------------------------------------ 5. slowest valid requests

    # Metastatic sites a breast primary may have, for cases at the work budget's caps.
    BUDGET_SITES = (
        *("C41.2", "C71.9", "C34.9", "C22.0", "C44.4", "C40.0", "C77.0", "C56.9", "C18.9"),
        *("C25.9", "C64.9", "C73.9", "C16.9", "C44.5", "C41.4", "C49.9", "C38.4", "C48.2"),
        *("C74.9", "C11.9"),
    )

    def slowest_valid(self) -> list[Figure]:
        """How long the largest valid requests hold a worker: a full batch, a case at the caps."""
        import httpx

        from registry.models.case import MAX_METASTASES_PER_CASE, MAX_TREATMENTS_PER_CASE
        from registry.services.batch import MAX_BATCH_ROWS

        per_case = MAX_BATCH_ROWS // BATCH_SIZE  # children per case that fill the row budget
        shapes = {
            f"largest valid batch ({BATCH_SIZE:,} cases, {MAX_BATCH_ROWS:,} rows)": (
                BATCH_SIZE,
                per_case // 2,
                per_case - per_case // 2,
            ),
            f"largest valid case ({MAX_METASTASES_PER_CASE} metastases, "
            f"{MAX_TREATMENTS_PER_CASE} treatments)": (
                1,
                MAX_METASTASES_PER_CASE,
                MAX_TREATMENTS_PER_CASE,
            ),
        }
        template = json.loads((ROOT / "seeds" / "cases" / "founding_case.json").read_text())
        template = template["cases"][0]
        headers = {"Authorization": f"Bearer {self.submitter_token}"}
        figures = []
        with httpx.Client(base_url=self.base, headers=headers, timeout=600) as client:
            for label, (count, metastases, treatments) in shapes.items():
                times = []
                for run in range(self.args.runs + 1):
                    prefix = f"bench-{self.run_id}-worst{count}-r{run}-n"  # never date-like
                    cases = [
                        self.case_at(template, f"{prefix}{n}", metastases, treatments)
                        for n in range(count)
                    ]
                    path, body = (
                        ("/api/v1/cases/", cases[0])
                        if count == 1
                        else ("/api/v1/cases/batch/", {"cases": cases})
                    )
                    started = time.perf_counter()
                    response = client.post(path, json=body)
                    elapsed = time.perf_counter() - started
                    response.raise_for_status()
                    if count > 1:
                        check_batch(response.json())
                    self.purge_cases()
                    if run:
                        times.append(elapsed * 1000)
                note = "one request; the API's statement timeout is 5 s a statement"
                figures.append(Figure(label, self.size, "ms", times, note=note))
        return figures

    def case_at(self, template: dict, local_id: str, metastases: int, treatments: int) -> dict:
        site = {**template["metastases"][0], "laterality": "unknown"}
        return {
            **template,
            "local_id": local_id,
            "metastases": [{**site, "site": s} for s in self.BUDGET_SITES[:metastases]],
            "treatments": [
                {"modality": "surgery", "target": "metastasis", "metastasis": n % metastases}
                for n in range(treatments)
            ],
        }


def _history_ids(ids: dict[str, range]) -> dict[str, range]:
    # The baseline COPYs no history rows; copy_lines formats them all the same.
    return {
        "registry_historicalcase": ids["registry_case"],
        "registry_historicalmetastasis": ids["registry_metastasis"],
        "registry_historicaltreatment": ids["registry_treatment"],
    }


def route_exists(path: str, name: str | None = None) -> bool:
    from django.urls import Resolver404, resolve

    try:
        match = resolve(path)
    except Resolver404:
        return False
    return name is None or name in (match.url_name or "")


def site_counts_from(body: dict) -> dict[str, tuple[int, int]]:
    """{site code: (cases, metastases)} from the rows of a `/api/v1/stats/` answer."""
    return {row["key"]: (row["cases"], row["metastases"]) for row in body["rows"]}


def diff(left: dict, right: dict) -> dict:
    keys = set(left) | set(right)
    return {k: (left.get(k), right.get(k)) for k in sorted(keys) if left.get(k) != right.get(k)}


def check_batch(body) -> None:
    results = body.get("results", body) if isinstance(body, dict) else body
    outcomes = {item["result"] for item in results}
    if outcomes != {"created"}:
        errors = [item for item in results if item["result"] == "error"][:3]
        raise RuntimeError(f"batch items not all created: {outcomes}; e.g. {errors}")


# ---------------------------------------------------------------- tools


def wrk(url: str, seconds: int, script: Path | None = None, env: dict | None = None) -> float:
    """Requests per second from wrk (2 threads, 4 connections); every answer must be 2xx."""
    command = ["wrk", "-t2", "-c4", f"-d{seconds}s"]
    if script:
        command += ["-s", str(script)]
    output = subprocess.run(
        [*command, url],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **(env or {})},
    ).stdout
    failed = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: (.*)", output)
    if failed or errors:
        raise RuntimeError(f"wrk saw failures against {url}:\n{output}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))


if __name__ == "__main__":
    main()
