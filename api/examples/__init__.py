"""OpenAPI response examples, kept as data: one JSON file per example, beside this module.

Each file is a real answer of the server: `call` is the request, `persona` whose token
made it, `response` what came back (a JSON document, or for text/csv its lines).
The data they were captured on is built by tests/test_api_examples.py, which calls each
example again and fails when the server's answer has drifted from the file; run it with
REGISTRY_REWRITE_EXAMPLES=1 to capture them anew.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from drf_spectacular.utils import OpenApiExample

EXAMPLES_DIR = Path(__file__).parent
CSV = "text/csv"


@dataclass(frozen=True)
class ResponseExample:
    """One captured answer: the call that asked for it and what the server sent."""

    path: Path
    title: str
    call: str  # "GET /api/v1/stats/?group_by=site_group"
    persona: str  # analyst | curator | submitter
    media_type: str
    response: dict | list[str]

    @property
    def method(self) -> str:
        return self.call.split(" ", 1)[0]

    @property
    def url(self) -> str:
        return self.call.split(" ", 1)[1]

    @property
    def body(self) -> dict | str:
        """The answer as sent: CSV lines end with CRLF, as Python's csv module writes them."""
        if self.media_type == CSV:
            return "".join(f"{line}\r\n" for line in self.response)
        return self.response

    def as_openapi(self, **kwargs) -> OpenApiExample:
        return OpenApiExample(
            self.title,
            summary=f"{self.call} (as {self.persona})",
            value=self.body,
            response_only=True,
            media_type=self.media_type,
            **kwargs,
        )


def load(name: str) -> ResponseExample:
    """The example in `<name>.json`."""
    path = EXAMPLES_DIR / f"{name}.json"
    fields = json.loads(path.read_text(encoding="utf-8"))
    return ResponseExample(path=path, **fields)


def every_example() -> list[ResponseExample]:
    return [load(path.stem) for path in sorted(EXAMPLES_DIR.glob("*.json"))]


def openapi_examples(*names: str, **kwargs) -> list[OpenApiExample]:
    return [load(name).as_openapi(**kwargs) for name in names]
