"""Single-case POST throughput ÷ a bare Django view on the same server. Goal ≥ 0.30.

Both are driven by wrk (bench/post.lua posts the founding case, each time with a
new local_id); the bare view is `/bench/constant` of bench/urls.py.
"""

import json
import tempfile

from bench.environment import ROOT
from bench.figures import Figure
from bench.session import Session
from bench.timing import after_warm_up, wrk


def founding_case() -> dict:
    """The founding case report as one API payload, from seeds/."""
    return json.loads((ROOT / "seeds" / "cases" / "founding_case.json").read_text())["cases"][0]


def single_post(session: Session) -> list[Figure]:
    payload = founding_case() | {"local_id": "LOCAL_ID_HERE"}
    with tempfile.NamedTemporaryFile("w", suffix=".json") as body_file:
        body_file.write(json.dumps(payload))
        body_file.flush()

        def one_run(run: int) -> tuple[float, float]:
            env = {
                "BENCH_TOKEN": session.tokens["submitter"],
                "BENCH_BODY": body_file.name,
                "BENCH_PREFIX": f"bench-{session.run_id}-post{run}",
            }
            post = wrk(
                f"{session.base}/api/v1/cases/",
                session.seconds,
                script=ROOT / "bench" / "post.lua",
                env=env,
            )
            bare = wrk(f"{session.base}/bench/constant", session.seconds)
            session.purge_cases()
            return post, bare

        runs = after_warm_up(session.runs, one_run)
    return [
        Figure.against(
            "single POST (founding case)",
            session.size,
            "req/s",
            runs,
            baseline_name="bare view",
            goal="≥ 0.30",
        )
    ]
