"""The API's OpenAPI document, loaded once when the tests are collected.

Schemathesis makes one pytest item per operation from a schema it has before
collection, so pytest-xdist can spread the fuzzing over the workers (a schema
fetched in a fixture is one item for all operations, which nothing can spread).
The document is drf-spectacular's, built as `/api/schema/` builds it, without a
request and so without the database, which is not open during collection;
`test_openapi.py` checks that it is the document the server sends.
"""

import json
import re
from functools import cache

import schemathesis
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer

from config.wsgi import application

SCHEMA_URL = "/api/schema/"
# A CSV twin is its JSON operation's view with another renderer (api/views/stats.py
# `_csv_twin`): the same parameters, parsed and refused by the same code.
CSV_TWIN = r"\.csv$"


@cache
def api_document() -> dict:
    """The OpenAPI document as JSON types (what a client parses from the served one)."""
    document = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(document))


def api_schema(config=None):
    """A schemathesis schema of the document that calls the WSGI application."""
    loaded = schemathesis.openapi.from_dict(api_document(), config=config)
    loaded.app = application
    loaded.location = SCHEMA_URL
    return loaded


def json_twin_path(csv_path: str) -> str:
    """`/api/v1/stats/counts.csv` → `/api/v1/stats/counts/` (`sites.csv` → `stats/`)."""
    name = re.sub(CSV_TWIN, "", csv_path.rsplit("/", 1)[1])
    return csv_path.rsplit("/", 1)[0] + ("/" if name == "sites" else f"/{name}/")
