"""`application/fhir+json` in and out.

The parsers turn JSON syntax errors into an OperationOutcome (FhirProblem) rather
than a problem document; plain `application/json` is read too, as FHIR servers do.
"""

import json

from rest_framework.parsers import JSONParser
from rest_framework.renderers import BaseRenderer

from api.fhir.parsing import json_from_bytes

FHIR_JSON = "application/fhir+json"


class FhirJsonParser(JSONParser):
    """FHIR JSON, decimals kept exact; syntax errors raise FhirProblem (an OperationOutcome).

    A JSONParser subclass, so DRF reads the body through Django's size limit.
    """

    media_type = FHIR_JSON

    def parse(self, stream, media_type=None, parser_context=None):
        return json_from_bytes(stream.read() if stream is not None else b"")


class PlainJsonParser(FhirJsonParser):
    media_type = "application/json"


class FhirJsonRenderer(BaseRenderer):
    media_type = FHIR_JSON
    format = "fhir"
    charset = None  # JSON is UTF-8 by definition

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
