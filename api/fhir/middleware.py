"""One error shape per status for the FHIR import: a 400 is always an OperationOutcome.

The request guards (`api.middleware`) refuse some bodies and query strings
before any view runs, as RFC 9457 problems. On `POST fhir/Bundle` the same 400
comes back as an OperationOutcome instead, so a FHIR client (or one generated
from the schema) reads every 400 of the import the same way.
"""

import json

from django.http import HttpResponse

from api.fhir.media import FHIR_JSON
from api.fhir.outcome import INVALID, Issue, operation_outcome
from api.problems import PROBLEM_CONTENT_TYPE

FHIR_IMPORT_PATH = "/api/v1/fhir/Bundle"


class FhirImportOutcomeMiddleware:
    """Turns a problem+json 400 answered to the FHIR import into an OperationOutcome."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            request.method == "POST"
            and request.path == FHIR_IMPORT_PATH
            and response.status_code == 400
            and response.get("Content-Type", "").startswith(PROBLEM_CONTENT_TYPE)
        ):
            detail = json.loads(response.content).get("detail", "The request is invalid.")
            return HttpResponse(
                json.dumps(operation_outcome([Issue(INVALID, detail)])),
                status=400,
                content_type=FHIR_JSON,
            )
        return response
