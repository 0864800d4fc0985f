"""The slowest valid requests of each kind: how long each can hold a worker.

The largest batch fills the work budget's row limit; the largest case has as many
metastases and treatments as one case may; the adversarial batch is the one of
issue 23 (285 cases x 20 metastases, each with 200 characters of short digit
groups, the identifier screen's worst text); the heaviest analyst statistics
are the response x modality cross-table (the survival, shares and profile
figures are in bench/measures/clinical.py). No baseline: the goal is <= 5 s at
1M cases, and API_REQUEST_BUDGET_MS (10 s) answers 503 past its budget, so a
figure near 10,000 ms means the request was refused, not served.
"""

from bench.figures import Figure
from bench.measures.ingest import BATCH_SIZE, check_batch
from bench.measures.single_post import founding_case
from bench.session import Session
from bench.timing import after_warm_up, get_times, timed

# Metastatic sites a breast primary may have, for cases at the work budget's caps.
BUDGET_SITES = (
    *("C41.2", "C71.9", "C34.9", "C22.0", "C44.4", "C40.0", "C77.0", "C56.9", "C18.9"),
    *("C25.9", "C64.9", "C73.9", "C16.9", "C44.5", "C41.4", "C49.9", "C38.4", "C48.2"),
    *("C74.9", "C11.9"),
)


def shapes() -> dict[str, tuple[int, int, int]]:
    """{label: (cases, metastases per case, treatments per case)} of the largest valid requests."""
    from registry.models.case import MAX_METASTASES_PER_CASE, MAX_TREATMENTS_PER_CASE
    from registry.services.batch import MAX_BATCH_ROWS

    per_case = MAX_BATCH_ROWS // BATCH_SIZE  # children per case that fill the row budget
    return {
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


# The adversarial text: short digit groups the phone-number check works hardest on.
DIGIT_GROUPS = " ".join(f"{n % 97:02d}" for n in range(67))[:200]
ADVERSARIAL_BATCH = (285, 20)  # cases, metastases each: 5,700 rows, inside the 6,000 budget
# The analysts' heaviest table: every response by every treatment modality.
HEAVY_CROSSTAB = {"rows": "modality", "cols": "response"}


def slowest_valid(session: Session) -> list[Figure]:
    note = "one request; goal <= 5 s at 1M cases, budget 10 s (503 past it)"
    with session.client("submitter", timeout=600) as client:
        figures = [
            Figure(label, session.size, "ms", request_times(session, client, *shape), note=note)
            for label, shape in shapes().items()
        ]
        cases, metastases = ADVERSARIAL_BATCH
        figures.append(
            Figure(
                f"adversarial text batch ({cases} cases x {metastases} metastases)",
                session.size,
                "ms",
                request_times(session, client, cases, metastases, 0, text=DIGIT_GROUPS),
                note=note + "; items may be refused by the screen",
            )
        )
    with session.client("analyst", timeout=600) as analyst:
        figures.append(
            Figure(
                "analyst crosstab treatment modality x response",
                session.size,
                "ms",
                get_times(session.runs, analyst, "/api/v1/stats/crosstab/", HEAVY_CROSSTAB),
                note=note,
            )
        )
    return figures


def request_times(
    session: Session, client, count: int, metastases: int, treatments: int, text: str = ""
):
    """Milliseconds of one request of `count` such cases (a batch if more than one), per run.

    With `text`, every metastasis carries it as its misdiagnosis text, and the items the
    identifier screen refuses are error items of a valid request (not checked).
    """
    template = founding_case()

    def one_run(run: int) -> float:
        prefix = f"bench-{session.run_id}-worst{count}-r{run}-n"  # never date-like
        cases = [case_at(template, f"{prefix}{n}", metastases, treatments) for n in range(count)]
        for case in cases if text else ():
            for metastasis in case["metastases"]:
                metastasis["misdiagnosis_text"] = text
        path, body = (
            ("/api/v1/cases/", cases[0])
            if count == 1
            else ("/api/v1/cases/batch/", {"cases": cases})
        )
        milliseconds, response = timed(lambda: client.post(path, json=body))
        response.raise_for_status()
        if count > 1 and not text:
            check_batch(response.json())
        session.purge_cases()
        return milliseconds

    return after_warm_up(session.runs, one_run)


def case_at(template: dict, local_id: str, metastases: int, treatments: int) -> dict:
    """The founding case with `metastases` distinct sites and `treatments` surgeries."""
    site = {**template["metastases"][0], "laterality": "unknown"}
    return {
        **template,
        "local_id": local_id,
        "metastases": [{**site, "site": s} for s in BUDGET_SITES[:metastases]],
        "treatments": [
            {"modality": "surgery", "target": "metastasis", "metastasis": n % metastases}
            for n in range(treatments)
        ],
    }
