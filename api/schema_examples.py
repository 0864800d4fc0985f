"""OpenAPI examples built from the founding case, read from its seed file."""

import json
from pathlib import Path

from django.conf import settings
from drf_spectacular.utils import OpenApiExample

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
    OpenApiExample(
        "One result per case, in request order",
        value={
            "summary": {"created": 1, "updated": 0, "unchanged": 0, "error": 2},
            "results": [
                {
                    "index": 0,
                    "local_id": "hosp-a-000123",
                    "result": "created",
                    "uuid": "0b6f4a52-8f0e-4c1e-9a55-2f1f7d3c9e01",
                    "version": 1,
                    "errors": [],
                    "flags": [],
                },
                {
                    "index": 1,
                    "local_id": "hosp-a-000124",
                    "result": "error",
                    "uuid": None,
                    "version": None,
                    "errors": [
                        {
                            "field": "metastases[0].site",
                            "message": "Unknown ICD-O-3 topography code 'C99.9'.",
                            "code": "invalid",
                        }
                    ],
                    "flags": [],
                },
                {
                    "index": 2,
                    "local_id": "hosp-a-000123",
                    "result": "error",
                    "uuid": None,
                    "version": None,
                    "errors": [
                        {
                            "field": "local_id",
                            "message": "'hosp-a-000123' is repeated in this batch (first at "
                            "item 0); send each case once.",
                            "code": "repeated_in_batch",
                        }
                    ],
                    "flags": [],
                },
            ],
        },
        response_only=True,
        status_codes=["200"],
    ),
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
