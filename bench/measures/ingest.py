"""Batch ingest through `/api/v1/cases/batch/` ÷ a raw COPY of the same rows. Goal ≥ 0.25.

The COPY goes into empty copies of the three case tables (same indexes and
checks, no history), in a scratch schema dropped afterwards.
"""

import json
import time

from bench.environment import INGEST_SEED
from bench.figures import Figure
from bench.session import Session
from bench.timing import after_warm_up

BATCH_SIZE = 1000
CASE_TABLES = ("registry_case", "registry_metastasis", "registry_treatment")


def batch_ingest(session: Session) -> list[Figure]:
    from registry.synthetic import generate_cases

    count = session.batches * BATCH_SIZE
    with session.client("submitter", timeout=600) as client:

        def one_run(run: int) -> tuple[float, float]:
            prefix = f"bench-{session.run_id}-{run}-"
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
            copy_seconds = copy_baseline(session, cases)
            session.purge_cases()
            return count / elapsed, count / copy_seconds

        runs = after_warm_up(session.runs, one_run)
    return [
        Figure.against(
            f"batch ingest ({BATCH_SIZE:,}/request)",
            session.size,
            "cases/s",
            runs,
            baseline_name="COPY",
            goal="≥ 0.25",
        )
    ]


def check_batch(body: dict) -> None:
    """Every item of a batch answer must be `created`: the bench submits only new, valid cases."""
    outcomes = {item["result"] for item in body["results"]}
    if outcomes != {"created"}:
        errors = [item for item in body["results"] if item["result"] == "error"][:3]
        raise RuntimeError(f"batch items not all created: {outcomes}; e.g. {errors}")


def copy_baseline(session: Session, cases) -> float:
    """Seconds to COPY the same cases' rows into empty copies of the base tables."""
    from django.db import connection, transaction

    from registry.services.synthetic import copy_lines
    from registry.synthetic import INSTITUTION_COUNT

    metastases = sum(len(c.metastases) for c in cases)
    treatments = sum(len(c.treatments) for c in cases)
    ids = {
        "registry_case": range(1, len(cases) + 1),
        "registry_metastasis": range(1, metastases + 1),
        "registry_treatment": range(1, treatments + 1),
    }
    # The baseline COPYs no history rows; copy_lines formats them all the same.
    history_ids = {table.replace("_", "_historical", 1): ids[table] for table in ids}
    every_hospital = dict.fromkeys(range(1, INSTITUTION_COUNT + 1), session.institution.pk)
    lines = copy_lines(cases, ids | history_ids, every_hospital, INGEST_SEED)
    with connection.cursor() as cursor:
        cursor.execute("DROP SCHEMA IF EXISTS bench_scratch CASCADE")
        cursor.execute("CREATE SCHEMA bench_scratch")
        for table in CASE_TABLES:
            cursor.execute(
                f"CREATE TABLE bench_scratch.{table} (LIKE public.{table} INCLUDING ALL)"
            )
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for table in CASE_TABLES:
            columns, rows = lines[table]
            statement = f"COPY bench_scratch.{table} ({', '.join(columns)}) FROM STDIN"
            with cursor.cursor.copy(statement) as copy:
                copy.write("".join(rows))
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("DROP SCHEMA bench_scratch CASCADE")
    return elapsed
