"""`/api/v1/fhir/Bundle`: hospitals submit an mCODE Bundle; anyone who may read a case exports it.

The import goes through `case_upsert`, like `PUT cases/by-local-id/`: the same
validation edits, history and idempotency, keyed by the Bundle's identifier (or
the Patient's id). Problems with the Bundle are answered as an OperationOutcome;
authentication, permission and routing errors keep the API's problem details.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.response import Response

from api.etags import case_etag
from api.fhir import schema
from api.fhir.mapping_out import case_to_bundle
from api.fhir.media import FHIR_JSON, FhirJsonParser, FhirJsonRenderer, PlainJsonParser
from api.fhir.outcome import INVALID, REQUIRED, FhirProblem, Issue, operation_outcome, write_outcome
from api.fhir.parsing import read_bundle
from api.fhir.reading import bundle_to_case
from api.permissions import CaseAccess
from registry.access import institution_for_submission, visible_cases
from registry.models import Case, Institution
from registry.selectors import with_case_details
from registry.services.cases import Outcome, case_upsert


class FhirBundleViewSet(viewsets.ViewSet):
    """mCODE Bundles in (one case each) and out."""

    permission_classes = [CaseAccess]
    parser_classes = [FhirJsonParser, PlainJsonParser]
    renderer_classes = [FhirJsonRenderer]

    @extend_schema(
        operation_id="fhir_bundle_import",
        summary="Submit a case as a FHIR R4 mCODE Bundle",
        description=(
            "A collection or transaction Bundle with one Patient, one PrimaryCancerCondition, "
            "one or more SecondaryCancerConditions and, optionally, TumorMarkerTests (ER, PR, "
            "HER2, Ki-67), TumorSize, cancer-related procedures and medications. It becomes "
            "one case, created or replaced by its key: a pseudonym derived with the registry's "
            "secret from Bundle.identifier (else Patient.id) for your institution, or the "
            "registry key itself when Bundle.identifier is in the registry's local-id "
            "NamingSystem (as exported). Resending the same Bundle finds the same case; the "
            "same content changes nothing (200, outcome unchanged). Names, identifiers, "
            "contact data and dates are never stored. Procedures and medications dated "
            "before the primary's onset count from month 0, with an informational issue. "
            "400: not JSON or not valid FHIR; 422: valid FHIR the registry cannot "
            "map, or a case that breaks the registry's rules; both answer an "
            "OperationOutcome whose issues name the Bundle element by FHIRPath, and store "
            "nothing."
        ),
        tags=["fhir"],
        parameters=[schema.INSTITUTION, *schema.WRITTEN_HEADERS],
        request={FHIR_JSON: {"type": "object", "description": "A FHIR R4 Bundle (mCODE)."}},
        responses=schema.IMPORT_RESPONSES,
        examples=schema.IMPORT_EXAMPLES,
    )
    def create(self, request):
        institution = self._institution()
        mapped = bundle_to_case(read_bundle(request.data), institution_code=institution.code)
        try:
            write = case_upsert(
                institution=institution,
                local_id=mapped.local_id,
                payload=mapped.payload,
                actor=request.user,
            )
        except DjangoValidationError as invalid:
            raise FhirProblem(422, mapped.issues_for(invalid)) from invalid
        case = write.case
        summary = (
            f"Case {case.uuid} {write.outcome}"
            f"{' (nothing written)' if write.outcome == Outcome.UNCHANGED else ''}: "
            f"local id '{case.local_id}', version {case.version}."
        )
        return Response(
            write_outcome(write.outcome, summary, mapped.notes),
            status=status.HTTP_201_CREATED
            if write.outcome == Outcome.CREATED
            else status.HTTP_200_OK,
            headers={
                "Location": reverse("fhir-bundle-detail", kwargs={"case_uuid": case.uuid}),
                "ETag": case_etag(case),
            },
        )

    @extend_schema(
        operation_id="fhir_bundle_export",
        summary="Read a case as a FHIR R4 mCODE Bundle",
        description=(
            "The case as a collection Bundle in mCODE profiles, valid FHIR R4; posting it "
            "back to /api/v1/fhir/Bundle leaves the case unchanged. Submitters read their "
            "institution's cases, curators all."
        ),
        tags=["fhir"],
        parameters=[schema.CASE_UUID, schema.EXPORT_ETAG],
        responses=schema.EXPORT_RESPONSES,
        examples=schema.EXPORT_EXAMPLES,
    )
    def retrieve(self, request, case_uuid=None):
        cases = with_case_details(visible_cases(request.user))
        case: Case = get_object_or_404(cases, uuid=case_uuid)
        return Response(case_to_bundle(case), headers={"ETag": case_etag(case)})

    def handle_exception(self, exc):
        if isinstance(exc, FhirProblem):
            return Response(
                operation_outcome(exc.issues), status=exc.status, content_type=FHIR_JSON
            )
        return super().handle_exception(exc)

    def _institution(self) -> Institution:
        """Submitters write for their own institution; curators name one in the query."""
        code = self.request.query_params.get("institution")
        try:
            return institution_for_submission(self.request.user, code)
        except DjangoValidationError as refused:
            kind = REQUIRED if code is None and self.request.user.is_curator else INVALID
            raise FhirProblem(400, [Issue(kind, message) for message in refused.messages]) from None
