"""Per-site counts from `/api/v1/stats/`: a curator's ÷ raw SQL, an analyst's ÷ a curator's.

The SQL twin counts cases (once per site) and metastases per site code over the
base tables; the counts must be the same as the API's. Goal ≤ 1.0 for a curator;
an analyst's protected counts may cost up to 1.5 times a curator's exact ones.
"""

import statistics

from bench.environment import say
from bench.figures import Figure
from bench.session import Session
from bench.timing import after_warm_up, timed_get, timed_sql

# (label, a curator's query parameters, the same selection as SQL on registry_case c)
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
        "c.sex = 'female' AND c.age_at_diagnosis BETWEEN 50 AND 69 AND c.year_of_diagnosis >= 2015",
    ),
    ("triple-negative", {"subtype": "triple_negative"}, "c.subtype_id = 'triple_negative'"),
    (
        "cases with a skin metastasis",
        {"site_group": "Skin"},
        "EXISTS (SELECT 1 FROM registry_metastasis s JOIN registry_topography t "
        "ON t.code = s.site_id WHERE s.case_id = c.id AND t.site_group = 'Skin')",
    ),
)
# Analysts ask the same in the published dictionary's words (age bands, periods).
ANALYST_PARAMS = {
    "breast primaries, verified": {"primary_category": "C50"},
    "women 50-69, diagnosed 2015+": {
        "sex": "female",
        "age_band": "50-69",
        "period": "2015-2019,2020-2024,2025-2029",
    },
}
SITE_COUNTS = ("cases", "metastases")  # the count columns of a per-site answer


def site_counts_sql(where: str) -> str:
    """Cases (once per site) and metastases per site code: what the endpoint says."""
    return (
        "SELECT m.site_id, count(DISTINCT m.case_id), count(*) "
        "FROM registry_metastasis m JOIN registry_case c ON c.id = m.case_id "
        f"{'WHERE ' + where if where else ''} GROUP BY m.site_id"
    )


def counts_from(body: dict, columns: tuple[str, ...]) -> dict[str, tuple[int, ...]]:
    """{key: (count, …)} from the rows of a statistics answer."""
    return {row["key"]: tuple(row[column] for column in columns) for row in body["rows"]}


def against_group_by(
    session: Session,
    client,
    name: str,
    *,
    path: str,
    query: dict,
    sql: str,
    columns: tuple[str, ...],
    counted: str,
) -> Figure:
    """Counts from `path` timed against the SQL GROUP BY that must give the same counts.

    The statement selects the key, then the answer's `columns` in that order;
    `counted` names the keys in the note.
    """

    def one_run(run: int):
        api_ms, body = timed_get(client, path, query)
        sql_ms, rows = timed_sql(sql)
        return (
            api_ms,
            sql_ms,
            counts_from(body, columns),
            {key: tuple(counts) for key, *counts in rows},
        )

    runs = after_warm_up(session.runs, one_run)
    _, _, api_counts, sql_counts = runs[-1]  # the counts of the last run
    same = api_counts == sql_counts
    if not same:
        say(f"bench: {name}: counts differ: {differences(api_counts, sql_counts)}")
    return Figure.against(
        name,
        session.size,
        "ms",
        [(api_ms, sql_ms) for api_ms, sql_ms, _, _ in runs],
        baseline_name="SQL GROUP BY",
        goal="≤ 1.0",
        note=f"same counts ({len(sql_counts)} {counted})" if same else "**counts differ**",
    )


def differences(left: dict, right: dict) -> dict:
    keys = set(left) | set(right)
    return {k: (left.get(k), right.get(k)) for k in sorted(keys) if left.get(k) != right.get(k)}


def curator_counts(session: Session) -> list[Figure]:
    with session.client("curator", timeout=300) as client:
        return [
            against_group_by(
                session,
                client,
                f"stats: {label}",
                path="/api/v1/stats/",
                query={"group_by": "code", **params},
                sql=site_counts_sql(where),
                columns=SITE_COUNTS,
                counted="sites",
            )
            for label, params, where in STATS_FILTERS
        ]


def analyst_counts(session: Session) -> list[Figure]:
    """An analyst's per-site counts: time next to a curator's, and their error.

    The error is that of every published count of cases and metastases against
    the raw SQL count of the same verified cases (cells of at least 11 cases).
    """
    with (
        session.client("analyst", timeout=300) as analyst,
        session.client("curator", timeout=300) as curator,
    ):
        return [
            analyst_figure(session, analyst, curator, label, params, where)
            for label, params, where in STATS_FILTERS
        ]


def analyst_figure(session: Session, analyst, curator, label, params, where) -> Figure:
    analyst_query = {"group_by": "code", **ANALYST_PARAMS.get(label, params)}
    curator_query = {"group_by": "code", **params, "status": "verified"}

    def one_run(run: int):
        analyst_ms, body = timed_get(analyst, "/api/v1/stats/", analyst_query)
        curator_ms, _ = timed_get(curator, "/api/v1/stats/", curator_query)
        return analyst_ms, curator_ms, body

    runs = after_warm_up(session.runs, one_run)
    _, _, published = runs[-1]  # the answer of the last run
    verified = " AND ".join(filter(None, [where, "c.status = 'verified'"]))
    _, rows = timed_sql(site_counts_sql(verified))
    truth = {site: tuple(counts) for site, *counts in rows}
    errors = [
        abs(shown - exact)
        for site, counts in counts_from(published, SITE_COUNTS).items()
        for shown, exact in zip(counts, truth.get(site, (0, 0)), strict=True)
    ]
    note = (
        f"error on {len(errors)} published counts: mean {statistics.mean(errors):.2f}, "
        f"max {max(errors)}"
        if errors
        else "nothing published"
    )
    return Figure.against(
        f"stats analyst ÷ curator: {label}",
        session.size,
        "ms",
        [(analyst_ms, curator_ms) for analyst_ms, curator_ms, _ in runs],
        baseline_name="curator",
        goal="≤ 1.5",
        note=note,
    )
