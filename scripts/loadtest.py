"""Load test: many concurrent hospital systems against gunicorn + PostgreSQL, then a reconciliation.

    python scripts/loadtest.py [--clients 50] [--seconds 60] [--workers 3]

A scratch database of its own (`registry_loadtest_<random>`, created on the
server of `--database-url`, default the local one, and dropped afterwards: no
other database is touched) is migrated and given institutions, submitters and
a curator; the app runs under gunicorn on a free loopback port with production
settings (DEBUG off). Each client is one hospital system doing a mix of single POSTs with an
Idempotency-Key (some resent at once, which must replay), batches, updates by
local_id, case-list reads and statistics reads, for a fixed time.

Every write is retried until it has a definite answer, as a careful integrator
would: the same key after a 503 or a dropped connection, or by local_id (PUT, a
natural upsert) when the key is still held by a request that died. Afterwards
every case a client was told is stored must be in the database exactly once,
nothing else may be there, and no response may have been a 5xx (`--allow-503`
lets the fault test accept database-outage answers). Prints throughput and
latency percentiles per operation; exits 1 if anything does not reconcile.
"""

import argparse
import asyncio
import copy
import json
import os
import random
import secrets
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from scratch_postgres import drop_database, fresh_database  # noqa: E402

from bench.server import Gunicorn  # noqa: E402

# Only the server of this URL is used: the database is a fresh one (scratch_postgres).
DEFAULT_SERVER_URL = "postgres://postgres@127.0.0.1:5432/postgres"
FOUNDING = json.loads((ROOT / "seeds" / "cases" / "founding_case.json").read_text())["cases"][0]
INSTITUTIONS = 10
BATCH_SIZE = 20
MAX_CLIENTS, MAX_SECONDS = 200, 600  # bounds, whatever the arguments say
# Weights of the operations a client picks from.
MIX = {"post": 40, "batch": 8, "update": 15, "stats": 22, "list": 15}
RESEND_SHARE = 0.2  # of single POSTs, resent at once with the same key


# ---------------------------------------------------------------- the server


def server_env(database_url: str) -> dict[str, str]:
    """Production settings on plain loopback HTTP; throttling out of the way."""
    env = {k: v for k, v in os.environ.items() if k != "DEBUG"}
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY=secrets.token_urlsafe(64),
        REGISTRY_PSEUDONYM_KEY=secrets.token_urlsafe(64),
        REGISTRY_CELL_KEY_SECRET=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        SECURE_COOKIES="false",
        API_RATE_PER_TOKEN="10000000/minute",
        DATABASE_CONNECT_TIMEOUT="3",
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    return env


def manage(env: dict, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


SEED = """
import json
from registry.models import Institution, Role, User
from registry.services.tokens import token_issue
tokens = {"submitters": {}, "curator": None}
for n in range(%(institutions)d):
    hospital = Institution.objects.create(code=f"load-{n}", name=f"Load {n}", country="FR")
    user = User.objects.create(username=f"load-{n}", role=Role.SUBMITTER, institution=hospital)
    tokens["submitters"][hospital.code] = [
        token_issue(user=user, name=f"client {k}")[1] for k in range(%(per)d)
    ]
curator = User.objects.create(username="load-curator", role=Role.CURATOR, is_staff=True)
tokens["curator"] = token_issue(user=curator, name="stats")[1]
print("TOKENS" + json.dumps(tokens))
"""


def prepare(database_url: str, clients: int) -> tuple[dict, dict]:
    """A fresh scratch database, migrated, with vocabularies and one token per client."""
    env = server_env(database_url)
    manage(env, "migrate", "--noinput")
    manage(env, "load_vocabularies")
    per = -(-clients // INSTITUTIONS)
    out = manage(env, "shell", stdin=SEED % {"institutions": INSTITUTIONS, "per": per})
    tokens = json.loads(out.split("TOKENS", 1)[1].strip().splitlines()[0])
    return env, tokens


# ---------------------------------------------------------------- the clients


@dataclass
class Tally:
    """What every client saw, and what it was told is stored."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    transport_errors: Counter = field(default_factory=Counter)
    stored: dict[tuple[str, str], str] = field(default_factory=dict)  # (institution, local_id)
    replays: int = 0
    bad_replays: int = 0
    cases_written: int = 0
    allow_503: bool = False
    outage_503: list[float] = field(default_factory=list)  # latencies of 503 answers


def case_body(local_id: str, rng: random.Random) -> dict:
    body = copy.deepcopy(FOUNDING)
    body["local_id"] = local_id
    body["age_at_diagnosis"] = rng.randint(20, 90)
    return body


class Client:
    """One hospital system: its token, its institution, its own local_ids."""

    def __init__(self, number, http, institution, token, curator_token, tally, stop_at):
        self.number, self.http, self.institution = number, http, institution
        self.auth = {"Authorization": f"Bearer {token}"}
        self.curator = {"Authorization": f"Bearer {curator_token}"}
        self.tally, self.stop_at = tally, stop_at
        self.rng = random.Random(number)
        self.mine: list[str] = []
        self.serial = 0

    def new_local_id(self) -> str:
        self.serial += 1
        return f"c{self.number}-{self.serial}"

    async def request(self, op, method, url, **kwargs) -> httpx.Response | None:
        started = time.monotonic()
        try:
            response = await self.http.request(method, url, **kwargs)
        except httpx.HTTPError as error:
            self.tally.transport_errors[type(error).__name__] += 1
            await asyncio.sleep(0.2)
            return None
        elapsed = time.monotonic() - started
        self.tally.latencies[op].append(elapsed)
        self.tally.statuses[response.status_code] += 1
        if response.status_code == 503 and self.tally.allow_503:
            self.tally.outage_503.append(elapsed)
            if response.headers.get("content-type") != "application/problem+json":
                self.tally.server_errors.append(f"{op}: 503 without problem+json")
            await asyncio.sleep(0.2)
        elif response.status_code >= 500:
            self.tally.server_errors.append(f"{op} {method} {url}: {response.status_code}")
            await asyncio.sleep(0.2)
        return response

    async def run(self) -> None:
        ops, weights = zip(*MIX.items(), strict=True)
        while time.monotonic() < self.stop_at:
            op = self.rng.choices(ops, weights)[0]
            if op in ("update",) and not self.mine:
                op = "post"
            await getattr(self, op)()

    def _stored(self, local_id: str, case_uuid: str) -> None:
        key = (self.institution, local_id)
        if key not in self.tally.stored:
            self.tally.cases_written += 1
            self.mine.append(local_id)
        self.tally.stored[key] = case_uuid

    async def post(self) -> None:
        local_id = self.new_local_id()
        body = case_body(local_id, self.rng)
        headers = {**self.auth, "Idempotency-Key": str(uuid.uuid4())}
        response = await self._until_answered("post", "POST", "/api/v1/cases/", body, headers)
        if response is None:  # the key is held by a request that died: upsert instead
            await self._put(local_id, body)
            return
        if response.status_code != 201:
            self.tally.server_errors.append(f"post: unexpected {response.status_code}")
            return
        self._stored(local_id, response.json()["uuid"])
        if self.rng.random() < RESEND_SHARE:
            again = await self._until_answered("resend", "POST", "/api/v1/cases/", body, headers)
            if again is not None:
                self.tally.replays += 1
                same = again.json().get("uuid") == response.json()["uuid"]
                if again.headers.get("Idempotent-Replayed") != "true" or not same:
                    self.tally.bad_replays += 1

    async def _put(self, local_id: str, body: dict) -> None:
        url = f"/api/v1/cases/by-local-id/{local_id}/"
        response = await self._until_answered("update", "PUT", url, body, self.auth)
        if response is not None and response.status_code in (200, 201):
            self._stored(local_id, response.json()["uuid"])
        else:
            self.tally.server_errors.append(f"put {local_id}: no definite answer")

    async def _until_answered(self, op, method, url, body, headers) -> httpx.Response | None:
        """Resends until a definite answer; None if the key stays held (409)."""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            response = await self.request(op, method, url, json=body, headers=headers)
            if response is None or response.status_code >= 500:
                continue
            if response.status_code == 409:
                if "Idempotency-Key" not in headers:
                    continue
                return None
            return response
        return None

    async def batch(self) -> None:
        local_ids = [self.new_local_id() for _ in range(BATCH_SIZE)]
        body = {"cases": [case_body(local_id, self.rng) for local_id in local_ids]}
        headers = {**self.auth, "Idempotency-Key": str(uuid.uuid4())}
        url = "/api/v1/cases/batch/"
        response = await self._until_answered("batch", "POST", url, body, headers)
        if response is None:  # a batch is an upsert by local_id: resend it without the key
            response = await self._until_answered("batch", "POST", url, body, self.auth)
        if response is None or response.status_code != 200:
            self.tally.server_errors.append("batch: no definite answer")
            return
        for item in response.json()["results"]:
            if item["result"] in ("created", "updated", "unchanged"):
                self._stored(item["local_id"], item["uuid"] or "")
            else:
                self.tally.server_errors.append(f"batch item refused: {item}")

    async def update(self) -> None:
        local_id = self.rng.choice(self.mine)
        await self._put(local_id, case_body(local_id, self.rng))

    async def stats(self) -> None:
        await self.request("stats", "GET", "/api/v1/stats/", headers=self.curator)

    async def list(self) -> None:
        await self.request(
            "list", "GET", "/api/v1/cases/", params={"page_size": 10}, headers=self.auth
        )


async def drive(base: str, tokens: dict, clients: int, seconds: float, tally: Tally) -> float:
    """Runs the clients for `seconds`; returns the elapsed wall time."""
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    timeout = httpx.Timeout(60.0, connect=10.0)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout) as http:
        started = time.monotonic()
        stop_at = started + seconds
        codes = sorted(tokens["submitters"])
        crowd = [
            Client(
                n,
                http,
                codes[n % len(codes)],
                tokens["submitters"][codes[n % len(codes)]][n // len(codes)],
                tokens["curator"],
                tally,
                stop_at,
            )
            for n in range(clients)
        ]
        await asyncio.gather(*(client.run() for client in crowd))
        return time.monotonic() - started


# ---------------------------------------------------------------- reconciliation and report


def reconcile(database_url: str, tally: Tally) -> list[str]:
    """Problems found: missing, duplicated or unexpected cases, and wrong UUIDs."""
    query = (
        "SELECT i.code, c.local_id, c.uuid FROM registry_case c "
        "JOIN registry_institution i ON i.id = c.institution_id WHERE i.code LIKE 'load-%'"
    )
    out = subprocess.run(
        ["psql", database_url, "-AtF", "\t", "-c", query], check=True, capture_output=True
    ).stdout.decode()
    rows = [tuple(line.split("\t")) for line in out.splitlines() if line]
    copies = Counter((code, local_id) for code, local_id, _ in rows)
    in_db = {(code, local_id): case_uuid for code, local_id, case_uuid in rows}
    problems = []
    duplicated = [key for key, n in copies.items() if n > 1]
    missing = [key for key in tally.stored if key not in in_db]
    unexpected = [key for key in in_db if key not in tally.stored]
    wrong_uuid = [
        key for key, told in tally.stored.items() if told and key in in_db and in_db[key] != told
    ]
    for name, keys in (
        ("duplicated", duplicated),
        ("missing", missing),
        ("unexpected", unexpected),
        ("with another uuid", wrong_uuid),
    ):
        if keys:
            problems.append(f"{len(keys)} cases {name}, e.g. {keys[:3]}")
    return problems, len(rows)


def percentiles(values: list[float]) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    ms = [ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 for q in (0.5, 0.95, 0.99)]
    return "p50 {:7.1f}  p95 {:7.1f}  p99 {:7.1f}  max {:7.1f} ms".format(*ms, ordered[-1] * 1000)


def report(tally: Tally, elapsed: float, rows: int, problems: list[str], title: str) -> None:
    total = sum(len(v) for v in tally.latencies.values())
    print(f"\n== {title}")
    print(f"requests answered  {total} in {elapsed:.1f} s = {total / elapsed:.0f} req/s")
    print(f"cases stored       {len(tally.stored)} ({len(tally.stored) / elapsed:.0f} cases/s)")
    for op in sorted(tally.latencies):
        values = tally.latencies[op]
        print(f"  {op:<7} n={len(values):<6} {percentiles(values)}")
    print(f"statuses           {dict(sorted(tally.statuses.items()))}")
    if tally.transport_errors:
        print(f"transport errors   {dict(tally.transport_errors)}")
    print(f"idempotent resends {tally.replays} ({tally.bad_replays} not replayed correctly)")
    print(f"5xx (not allowed)  {len(tally.server_errors)}", *tally.server_errors[:5], sep="\n  ")
    print(f"reconciliation     {rows} cases in the database; ", end="")
    print("OK: each acknowledged case exactly once" if not problems else "; ".join(problems))


def failed(tally: Tally, problems: list[str]) -> bool:
    return bool(problems or tally.server_errors or tally.bad_replays)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument(
        "--database-url", default=DEFAULT_SERVER_URL, help="the server (its database is not used)"
    )
    args = parser.parse_args()
    clients = max(1, min(args.clients, MAX_CLIENTS))
    seconds = max(1.0, min(args.seconds, MAX_SECONDS))
    workers = max(1, min(args.workers, 8))

    database_url = fresh_database(args.database_url, "registry_loadtest")
    try:
        print(f"preparing {database_url} ...", flush=True)
        env, tokens = prepare(database_url, clients)
        server = Gunicorn(env, workers)
        base = server.start()
        print(f"{clients} clients for {seconds:.0f} s, gunicorn ({workers} workers) at {base}")
        tally = Tally()
        try:
            elapsed = asyncio.run(drive(base, tokens, clients, seconds, tally))
        finally:
            server.stop()
        problems, rows = reconcile(database_url, tally)
    finally:
        drop_database(database_url)
    report(tally, elapsed, rows, problems, f"load: {clients} clients, {workers} workers")
    return 1 if failed(tally, problems) else 0


if __name__ == "__main__":
    sys.exit(main())
