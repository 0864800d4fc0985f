"""Fault test: the database stops under load, and a worker dies mid-batch.

    python scripts/faulttest.py [--clients 20] [--outage 6] [--workers 2]

The PostgreSQL it stops is a cluster of its own (scripts/scratch_postgres.py:
initdb in a temporary folder, a free port), removed afterwards (try/finally,
also on Ctrl-C); the machine's own server and its other users notice nothing.
Its database is served by gunicorn as in scripts/loadtest.py.

1. Outage: clients submit and read as in the load test; the cluster is stopped
   mid-run. Requests must get 503 problem+json within a bounded time (the
   connect timeout is 3 s), never another 5xx; once the cluster is back, writes
   succeed again, and after the clients' resends every acknowledged case is in
   the database exactly once.
2. Worker killed: a batch of 1,000 cases is sent with an Idempotency-Key and the
   gunicorn worker busy with it gets SIGKILL. Resending the batch leaves exactly
   one copy of each case.
"""

import argparse
import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadtest import (  # it puts the project root on sys.path, for bench.server
    Tally,
    case_body,
    drive,
    failed,
    prepare,
    reconcile,
    report,
)
from scratch_postgres import ScratchCluster

from bench.server import Gunicorn

CLUSTER = ScratchCluster()
DATABASE_URL = CLUSTER.url
# A 503 must come within the connect timeout (3 s) plus this much.
RESPONSE_BOUND_SECONDS = 6.0


def cluster(action: str) -> None:
    CLUSTER.start() if action == "start" else CLUSTER.stop()


def wait_ready(base: str, seconds: float = 60) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                return time.monotonic() - started
        time.sleep(0.2)
    raise RuntimeError("the app did not become ready again")


# ---------------------------------------------------------------- 1. the database stops


def outage(base: str, tokens: dict, clients: int, seconds: float, down: float) -> bool:
    tally = Tally(allow_503=True)
    marks: dict[str, float] = {}

    async def run() -> float:
        load = asyncio.create_task(drive(base, tokens, clients, seconds, tally))
        await asyncio.sleep(min(6.0, seconds / 4))
        before = sum(tally.statuses.values())
        marks["stop"] = time.monotonic()
        try:
            await asyncio.to_thread(cluster, "stop")
            await asyncio.sleep(down)
        finally:
            await asyncio.to_thread(cluster, "start")
        marks["start"] = time.monotonic()
        marks["ready"] = await asyncio.to_thread(wait_ready, base)
        marks["requests_before"] = before
        return await load

    elapsed = asyncio.run(run())
    problems, rows = reconcile(DATABASE_URL, tally)
    report(tally, elapsed, rows, problems, f"outage: cluster stopped for {down:.0f} s")
    slowest = max(tally.outage_503, default=0.0)
    print(f"503 answers        {len(tally.outage_503)}, slowest {slowest:.2f} s")
    print(f"back to ready      {marks['ready']:.1f} s after the cluster started")
    ok = not failed(tally, problems) and tally.outage_503 and slowest < RESPONSE_BOUND_SECONDS
    return bool(ok)


# ---------------------------------------------------------------- 2. a worker dies mid-batch


def busiest_worker(server: Gunicorn) -> int:
    def cpu(pid: int) -> int:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])

    pids = server.worker_pids()
    first = {pid: cpu(pid) for pid in pids}
    time.sleep(0.1)
    return max(pids, key=lambda pid: cpu(pid) - first[pid])


def killed_batch(base: str, tokens: dict, server: Gunicorn) -> bool:
    code = sorted(tokens["submitters"])[0]
    auth = {"Authorization": f"Bearer {tokens['submitters'][code][0]}"}
    url = f"{base}/api/v1/cases/batch/"
    print("\n== worker killed mid-batch")
    # The kill must land while the batch is processed; a batch that finished first
    # is tried again with new cases and a shorter delay.
    for attempt, delay in enumerate((0.15, 0.08, 0.03)):
        prefix = f"kill{attempt}-"
        rng = random.Random(attempt)
        body = {"cases": [case_body(f"{prefix}{n}", rng) for n in range(1000)]}
        key = {"Idempotency-Key": str(uuid.uuid4())}
        outcome: dict = {}

        def send(body=body, key=key, outcome=outcome) -> None:
            try:
                outcome["first"] = httpx.post(url, json=body, headers={**auth, **key}, timeout=120)
            except httpx.HTTPError as error:
                outcome["first"] = type(error).__name__

        sender = threading.Thread(target=send)
        sender.start()
        time.sleep(delay)
        victim = busiest_worker(server)
        os.kill(victim, signal.SIGKILL)
        sender.join()
        first = outcome["first"]
        seen = first if isinstance(first, str) else first.status_code
        print(
            f"first send         SIGKILL to worker {victim} after {delay + 0.1:.2f} s; "
            f"client saw: {seen}"
        )
        wait_ready(base)
        if isinstance(first, str):
            break
    same_key = httpx.post(url, json=body, headers={**auth, **key}, timeout=120)
    print(f"resend, same key   {same_key.status_code} {same_key.headers.get('content-type')}")
    final = same_key
    if same_key.status_code == 409:
        # The dead request still holds the key; a batch is an upsert by local_id.
        final = httpx.post(url, json=body, headers=auth, timeout=120)
        print(f"resend, no key     {final.status_code}")
    results = final.json()["results"] if final.status_code == 200 else []
    print(f"batch results      {dict(Counter(item['result'] for item in results))}")
    again = httpx.post(url, json=body, headers=auth, timeout=120).json()["results"]
    print(f"third send         {dict(Counter(i['result'] for i in again))}")
    query = (
        "SELECT count(*), count(DISTINCT local_id) FROM registry_case "
        f"WHERE local_id LIKE '{prefix}%'"
    )
    out = subprocess.run(
        ["psql", DATABASE_URL, "-Atc", query], check=True, capture_output=True, text=True
    ).stdout.strip()
    rows, distinct = (int(n) for n in out.split("|"))
    print(f"in the database    {rows} rows, {distinct} distinct local_ids (expected 1000, 1000)")
    return rows == distinct == 1000 and all(i["result"] == "unchanged" for i in again)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--outage", type=float, default=6)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--no-outage", action="store_true", help="only the worker kill; the cluster keeps running"
    )
    args = parser.parse_args()
    down = max(1.0, min(args.outage, 30.0))
    seconds = max(down + 10, min(args.seconds, 120.0))

    print(f"a scratch cluster at {DATABASE_URL} ...", flush=True)
    CLUSTER.create()
    try:
        env, tokens = prepare(DATABASE_URL, args.clients)
        server = Gunicorn(env, max(2, min(args.workers, 4)))
        base = server.start()
        try:
            survived_outage = args.no_outage or outage(base, tokens, args.clients, seconds, down)
            survived_kill = killed_batch(base, tokens, server)
        finally:
            server.stop()
    finally:
        CLUSTER.remove()
    print(
        f"\noutage: {'skipped' if args.no_outage else 'PASS' if survived_outage else 'FAIL'}; "
        f"worker kill: {'PASS' if survived_kill else 'FAIL'}"
    )
    return 0 if survived_outage and survived_kill else 1


if __name__ == "__main__":
    sys.exit(main())
