"""`application/fhir+json` in and out.

The parsers turn JSON syntax errors into an OperationOutcome (FhirProblem) rather
than a problem document; plain `application/json` is read too, as FHIR servers do.
"""

import json

from rest_framework.parsers import JSONParser
from rest_framework.renderers import BaseRenderer

from api.fhir.outcome import STRUCTURE, FhirProblem, Issue
from api.fhir.parsing import json_from_text
from api.parsers import BodyRefused, as_api_exception, declared_charset, guarded_json_text

FHIR_JSON = "application/fhir+json"


class FhirJsonParser(JSONParser):
    """FHIR JSON, decimals kept exact; syntax errors raise FhirProblem (an OperationOutcome).

    The body goes through the API's guards (size, charset, depth, lone surrogates)
    first; what they refuse as malformed is an OperationOutcome too.
    """

    media_type = FHIR_JSON

    def parse(self, stream, media_type=None, parser_context=None):
        if stream is None:
            return json_from_text("")
        try:
            text = guarded_json_text(stream, declared_charset(parser_context))
        except BodyRefused as refused:
            if refused.status == 400:
                raise FhirProblem(400, [Issue(STRUCTURE, refused.detail)]) from None
            raise as_api_exception(refused) from None
        return json_from_text(text)


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
