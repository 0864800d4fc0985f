"""Clinical analytics: counts by presentation ÷ raw SQL, and an analyst's other endpoints.

Survival, site shares and the site profile are several statements and a fit, so
they have no raw SQL twin: only their time is reported.
"""

from bench.figures import Figure
from bench.measures.stats import against_group_by
from bench.session import Session
from bench.timing import get_times

PRESENTATION_SQL = (
    "SELECT m.presentation, count(DISTINCT m.case_id) FROM registry_metastasis m "
    "JOIN registry_case c ON c.id = m.case_id WHERE c.primary_site_id LIKE 'C50.%%' "
    "AND c.status = 'verified' GROUP BY m.presentation"
)
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


def clinical_counts(session: Session) -> list[Figure]:
    with (
        session.client("curator", timeout=600) as curator,
        session.client("analyst", timeout=600) as analyst,
    ):
        by_presentation = against_group_by(
            session,
            curator,
            "stats: presentation, breast",
            path="/api/v1/stats/counts/",
            query={"by": "presentation", "primary_category": "C50", "status": "verified"},
            sql=PRESENTATION_SQL,
            columns=("cases",),
            counted="presentations",
        )
        return [by_presentation] + [
            Figure(
                f"analyst {label}",
                session.size,
                "ms",
                get_times(session.runs, analyst, f"/api/v1/stats/{path}", params),
                note="no raw twin",
            )
            for label, path, params in CLINICAL_QUERIES
        ]
