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
