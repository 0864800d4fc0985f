"""OpenAPI for the FHIR operations: Bundles as free-form objects, errors as OperationOutcome.

A Bundle's schema is FHIR's own (hl7.org/fhir/R4/bundle.html), too large to
repeat here; the documentation gives the founding case as the example instead.
"""

import json
from pathlib import Path

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from api.etags import etag_header
from api.fhir.media import FHIR_JSON
from api.schema import PROBLEM_MEDIA
from api.serializers.base import ProblemSerializer

EXAMPLES = Path(settings.BASE_DIR) / "seeds" / "fhir"


def _example(name: str) -> dict:
    return json.loads((EXAMPLES / name).read_text())


# ---------------------------------------------------------------- OperationOutcome


class OperationOutcomeCodingSerializer(serializers.Serializer):
    system = serializers.CharField()
    code = serializers.CharField()


class OperationOutcomeDetailsSerializer(serializers.Serializer):
    coding = OperationOutcomeCodingSerializer(many=True)
    text = serializers.CharField(required=False)


class OperationOutcomeIssueSerializer(serializers.Serializer):
    severity = serializers.CharField(help_text="error, or information on a successful import")
    code = serializers.CharField(
        help_text="FHIR issue type: structure, invalid, required, code-invalid, "
        "not-supported, business-rule, informational"
    )
    diagnostics = serializers.CharField()
    expression = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="FHIRPath of the element, e.g. Bundle.entry[2].resource.bodySite[0].coding[0]",
    )
    details = OperationOutcomeDetailsSerializer(
        required=False,
        help_text="On success: the write outcome (created, updated or unchanged)",
    )


class OperationOutcomeSerializer(serializers.Serializer):
    """FHIR OperationOutcome: one issue per problem, each located by FHIRPath."""

    resourceType = serializers.CharField(help_text="Always OperationOutcome")
    issue = OperationOutcomeIssueSerializer(many=True)


# ---------------------------------------------------------------- parameters and responses

INSTITUTION = OpenApiParameter(
    "institution",
    str,
    OpenApiParameter.QUERY,
    required=False,
    pattern=r"^[-a-zA-Z0-9_]{1,32}$",
    description="Institution code. Curators must name it; submitters may leave it out.",
)
CASE_UUID = OpenApiParameter(
    "case_uuid", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The case's UUID."
)
WRITTEN_HEADERS = [
    OpenApiParameter(
        "Location",
        location=OpenApiParameter.HEADER,
        response=[200, 201],
        required=True,
        description="/api/v1/fhir/Bundle/{case uuid}: the case as an mCODE Bundle.",
    ),
    etag_header(200, 201),
]
EXPORT_ETAG = etag_header(200)

_OUTCOME = OperationOutcomeSerializer
_BAD_REQUEST = (
    "The body is not JSON, not a FHIR R4 Bundle or not valid FHIR, or `institution` is "
    "wrong; also a body or query string refused before it is read (too deep, a NUL)."
)
IMPORT_RESPONSES = {
    (201, FHIR_JSON): OpenApiResponse(_OUTCOME, description="A new case was created."),
    (200, FHIR_JSON): OpenApiResponse(
        _OUTCOME,
        description="Your case with this key was replaced, or left unchanged (nothing written).",
    ),
    # Always an OperationOutcome, also from the request guards (api/fhir/middleware.py).
    (400, FHIR_JSON): OpenApiResponse(_OUTCOME, description=_BAD_REQUEST),
    (422, FHIR_JSON): OpenApiResponse(
        _OUTCOME,
        description="Valid FHIR the registry cannot map, or a case that breaks its rules; "
        "each issue names the Bundle element. Nothing is stored.",
    ),
    (413, FHIR_JSON): OpenApiResponse(
        _OUTCOME,
        description="More than 5,000 Bundle entries (issue too-costly), refused before any is "
        "read; or, as a problem document, a body over MAX_REQUEST_BYTES.",
    ),
    (413, PROBLEM_MEDIA): OpenApiResponse(
        ProblemSerializer, description="The body is larger than MAX_REQUEST_BYTES"
    ),
    (415, PROBLEM_MEDIA): OpenApiResponse(
        ProblemSerializer, description="The body is not application/fhir+json"
    ),
}
EXPORT_RESPONSES = {
    (200, FHIR_JSON): OpenApiResponse(
        OpenApiTypes.OBJECT,
        description="A FHIR R4 collection Bundle in mCODE profiles (see docs/fhir.md); "
        "POST it back and the case is unchanged.",
    ),
}

IMPORT_EXAMPLES = [
    OpenApiExample(
        "Founding case as an mCODE Bundle",
        value=_example("founding_case_bundle.json"),
        request_only=True,
        media_type=FHIR_JSON,
    ),
    OpenApiExample(
        "Created",
        value=_example("founding_case_import_outcome.json"),
        response_only=True,
        status_codes=["201"],
        media_type=FHIR_JSON,
    ),
    OpenApiExample(
        "A SNOMED CT body site the registry cannot map",
        value={
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": "error",
                    "code": "code-invalid",
                    "diagnostics": "SNOMED CT 999999999 has no ICD-O-3 topography in the "
                    "registry's concept map (seeds/fhir_concept_map.csv); send the ICD-O-3 code "
                    "(http://terminology.hl7.org/CodeSystem/icd-o-3) or a mapped SNOMED CT "
                    "concept.",
                    "expression": ["Bundle.entry[2].resource.bodySite[0].coding[0]"],
                }
            ],
        },
        response_only=True,
        status_codes=["422"],
        media_type=FHIR_JSON,
    ),
]
EXPORT_EXAMPLES = [
    OpenApiExample(
        "Founding case",
        value=_example("founding_case_export.json"),
        response_only=True,
        status_codes=["200"],
        media_type=FHIR_JSON,
    )
]
