"""List page latency at page sizes 10 and 100, with the SQL queries one page costs.

No baseline: the goal is a fixed number of queries per page, whatever its size.
"""

from bench.figures import Figure
from bench.session import Session
from bench.timing import get_times

PAGE_SIZES = (10, 100)


def list_pages(session: Session) -> list[Figure]:
    queries = {page_size: count_queries(session, page_size) for page_size in PAGE_SIZES}
    with session.client("curator", timeout=60) as client:
        return [
            Figure(
                f"list page of {page_size}",
                session.size,
                "ms",
                # Cheap requests: four times as many as of the other figures.
                get_times(session.runs * 4, client, "/api/v1/cases/", {"page_size": page_size}),
                note=f"{queries[page_size]} queries per page",
            )
            for page_size in PAGE_SIZES
        ]


def count_queries(session: Session, page_size: int) -> int:
    """The queries of one full page, counted in this process with Django's test client."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    token = session.tokens["curator"]
    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {token}")
    client.get("/api/v1/cases/", {"page_size": page_size})  # token last-use mark, caches
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/cases/", {"page_size": page_size})
    assert response.status_code == 200, response.content[:200]
    assert len(response.json()["results"]) == page_size
    return len(queries)
