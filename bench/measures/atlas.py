"""The similar-case finder: one clinician's query, timed against the profile it contains.

An analyst's answer is the ranked literature plus the protected profile of the
same primary and site, so the baseline is that profile alone (`stats/profile/`):
the ratio is what ranking the literature adds. A curator's answer also ranks the
registry's cases; issue 27's goal is under 200 ms at 1M cases.
"""

from bench.figures import Figure
from bench.session import Session
from bench.timing import after_warm_up, timed, timed_get

CLINICIAN = {
    "primary": "C50",
    "morphology": "8500/3",
    "site": "C44.4",
    "presentation": "nodule",
    "misdiagnosis": "benign_lesion",
}
PROFILE = {"primary_category": "C50", "site": "C44.4"}


def _timed_post(client, body: dict) -> float:
    milliseconds, response = timed(lambda: client.post("/api/v1/similar/", json=body))
    response.raise_for_status()
    return milliseconds


def similar_cases(session: Session) -> list[Figure]:
    with (
        session.client("curator", timeout=600) as curator,
        session.client("analyst", timeout=600) as analyst,
    ):
        paired = after_warm_up(
            session.runs,
            lambda run: (
                _timed_post(analyst, CLINICIAN),
                timed_get(analyst, "/api/v1/stats/profile/", PROFILE)[0],
            ),
        )
        return [
            Figure.against(
                "analyst similar cases, breast -> scalp",
                session.size,
                "ms",
                paired,
                baseline_name="its profile alone",
                goal="≤ 1.5",
            ),
            Figure(
                "curator similar cases (registry ranked too)",
                session.size,
                "ms",
                after_warm_up(session.runs, lambda run: _timed_post(curator, CLINICIAN)),
                note="goal < 200 ms at 1M",
            ),
        ]
