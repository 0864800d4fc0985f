"""Profile one benchmarked path in-process with pyinstrument, against a bench database.

    python bench/profile.py post|batch|stats|list [--size 10000] [--repeat 20]

Runs the request through Django's test client with the benchmark's settings
(DEBUG off, the same middleware and database as `bench/run.py` for that size,
which must have been built by a bench run first), after one warm-up call, and
prints pyinstrument's call tree plus the SQL each request sent. The report is
also saved as bench/results/profile-<path>.html.
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.environment import (  # noqa: E402
    INGEST_SEED,
    RESULTS,
    django_setup,
    ingest_institution,
)
from bench.measures.single_post import founding_case  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", choices=["post", "batch", "stats", "list"])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--query", default="group_by=code", help="stats query string")
    args = parser.parse_args()

    django_setup(args.size)
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from pyinstrument import Profiler

    from registry.models import Role, User
    from registry.services.synthetic import institution_cases_purge
    from registry.services.tokens import token_issue
    from registry.synthetic import generate_cases

    institution = ingest_institution()
    role = Role.CURATOR if args.path in ("stats", "list") else Role.SUBMITTER
    user, _ = User.objects.get_or_create(
        username=f"bench-profile-{role}",
        defaults={"role": role, "institution": institution if role == Role.SUBMITTER else None},
    )
    token = token_issue(user=user, name="profile", valid_days=1)[1]
    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {token}")
    counter = iter(range(10**9))

    def request():
        if args.path == "post":
            body = founding_case() | {"local_id": f"bench-profile-{next(counter)}"}
            return client.post("/api/v1/cases/", body, content_type="application/json")
        if args.path == "batch":
            start = next(counter) * 1000
            cases = generate_cases(INGEST_SEED, start, 1000, "bench-profile-")
            body = {"cases": [case.payload() for case in cases]}
            return client.post("/api/v1/cases/batch/", body, content_type="application/json")
        if args.path == "stats":
            return client.get(f"/api/v1/stats/?{args.query}")
        return client.get("/api/v1/cases/?page_size=100")

    repeat = 1 if args.path == "batch" else args.repeat
    try:
        assert request().status_code < 300  # warm-up: vocabularies, token mark, caches
        with CaptureQueriesContext(connection) as captured:
            response = request()
        queries = list(captured.captured_queries)  # the log is reset by the next request
        assert response.status_code < 300, response.content[:500]
        profiler = Profiler(interval=0.0005)
        with profiler:
            for _ in range(repeat):
                request()
    finally:
        institution_cases_purge(institution_ids=[institution.pk])
    print(profiler.output_text(unicode=True, color=False, show_all=False))
    print(f"{len(queries)} queries per request:")
    for query in queries:
        print(f"  {query['time']}s  {query['sql'][:160]}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"profile-{args.path}.html").write_text(profiler.output_html())


if __name__ == "__main__":
    main()
