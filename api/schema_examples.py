"""OpenAPI examples built from the founding case, read from its seed file.

The requests are built here; the answers are captured files in api/examples/.
"""

import json
from pathlib import Path

from django.conf import settings
from drf_spectacular.utils import OpenApiExample

from api.examples import load

_SEED = Path(settings.BASE_DIR) / "seeds" / "cases" / "founding_case.json"


def founding_case_request() -> dict:
    case = dict(json.loads(_SEED.read_text())["cases"][0])
    case["local_id"] = "hosp-a-000123"
    case["source"] = "hospital"
    return case


FOUNDING_CASE_EXAMPLES = [
    OpenApiExample(
        "Founding case: breast IDC with a scalp metastasis",
        value=founding_case_request(),
        request_only=True,
    )
]


def _founding_batch() -> list[dict]:
    """The founding case, a copy with an unknown site, and a repeat of the first."""
    founding = founding_case_request()
    misfiled = {**founding_case_request(), "local_id": "hosp-a-000124"}
    misfiled["metastases"] = [{**misfiled["metastases"][0], "site": "C99.9"}]
    return [founding, misfiled, founding]


BATCH_EXAMPLES = [
    OpenApiExample(
        "The founding case, an invalid case and a repeat",
        value={"cases": _founding_batch()},
        request_only=True,
    ),
    load("cases_batch_result").as_openapi(status_codes=["200"]),
]


def _founding_by_local_id() -> dict:
    case = founding_case_request()
    case.pop("local_id")
    return case


BY_LOCAL_ID_EXAMPLES = [
    OpenApiExample(
        "Founding case, keyed by the URL's local id",
        value=_founding_by_local_id(),
        request_only=True,
    )
]
