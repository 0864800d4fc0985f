"""`/api/v1/cases/`: submitting, reading, correcting and reviewing cases.

Integrators also get the reliable ways in: `PUT cases/by-local-id/{local_id}/`
(create or replace by their own key), `POST cases/batch/` (up to 1,000 cases),
`Idempotency-Key` on POSTs, and `ETag`/`If-Match` on every case.
"""

from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from api.etags import case_etag, etag_header, expected_version
from api.filters import CaseFilterBackend, CaseFilterParams
from api.idempotency import IDEMPOTENCY_KEY_PARAMETER, REPLAYED_PARAMETER, idempotent
from api.pagination import CasePagination
from api.permissions import CaseAccess
from api.schema_examples import BATCH_EXAMPLES, BY_LOCAL_ID_EXAMPLES, FOUNDING_CASE_EXAMPLES
from api.serializers.batch import (
    CaseBatchResultSerializer,
    CaseBatchSerializer,
    batch_item_of,
)
from api.serializers.cases import (
    CaseOverrideSerializer,
    CaseRedactionSerializer,
    CaseReplaceSerializer,
    CaseReviewSerializer,
    CaseSerializer,
)
from registry import access
from registry.case_filters import CaseFilterSet
from registry.case_keys import LOCAL_ID_MAX, local_id_key, normalise_local_id
from registry.models import Case, Institution
from registry.selectors import CaseFilters, case_list, with_case_details
from registry.services.batch import (
    batch_rows,
    case_batch_submit,
    check_batch_size,
)
from registry.services.case_store import CaseDetails
from registry.services.cases import (
    CaseWrite,
    Outcome,
    StaleVersion,
    case_delete,
    case_review,
    case_submit,
    case_update,
    case_upsert,
)
from registry.services.flags import case_confirm_flags
from registry.services.redaction import case_redact

IF_MATCH = OpenApiParameter(
    "If-Match",
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        'Optional: the ETag of the case as you last read it, e.g. "v3" (or several, '
        "comma-separated, or * for any existing case). If none is the case's current "
        "ETag, nothing is written and the answer is 412. Without If-Match the last "
        "write wins."
    ),
)
ETAG = etag_header(200, 201)
LOCAL_ID = OpenApiParameter(
    "local_id",
    str,
    OpenApiParameter.PATH,
    description=(
        f"Your institution's own key for the case (at most {LOCAL_ID_MAX} characters, no '/', no "
        "control, format or bidi characters, nothing that identifies the patient). Keys "
        "that look the same are one key: case, width (fullwidth forms), dashes and "
        "Cyrillic or Greek look-alike letters do not make a second case."
    ),
)
INSTITUTION = OpenApiParameter(
    "institution",
    str,
    OpenApiParameter.QUERY,
    required=False,
    description=(
        "Institution code. Curators must name it (here or as `institution` in the body); "
        "submitters may leave it out (their token's institution is used)."
    ),
)


def _case_step(body, summary: str, description: str):
    """A POST on one case that changes it (review, overrides, redactions): the case back."""

    def declared(view):
        documented = extend_schema(
            request=body,
            responses=CaseSerializer,
            parameters=[ETAG],
            summary=summary,
            description=description,
        )
        return documented(action(detail=True, methods=["post"])(view))

    return declared


_CASE_WRITTEN = {
    200: OpenApiResponse(CaseSerializer, description="Replaced, or unchanged: nothing written"),
    201: OpenApiResponse(CaseSerializer, description="Created"),
}


@extend_schema_view(
    list=extend_schema(parameters=[CaseFilterParams], summary="List cases you may read"),
    create=extend_schema(
        parameters=[IDEMPOTENCY_KEY_PARAMETER, ETAG, REPLAYED_PARAMETER],
        examples=FOUNDING_CASE_EXAMPLES,
        summary="Submit a case",
    ),
    retrieve=extend_schema(parameters=[ETAG], summary="Read one case"),
    update=extend_schema(
        request=CaseReplaceSerializer, parameters=[IF_MATCH, ETAG], summary="Replace a case"
    ),
    partial_update=extend_schema(
        parameters=[IF_MATCH, ETAG], summary="Change some fields of a case"
    ),
    destroy=extend_schema(parameters=[IF_MATCH], summary="Delete a case (curators)"),
)
class CaseViewSet(viewsets.ModelViewSet):
    """Cases with their metastases and treatments, written in one request."""

    serializer_class = CaseSerializer
    permission_classes = [CaseAccess]
    pagination_class = CasePagination
    filter_backends = [CaseFilterBackend]
    filterset_class = CaseFilterSet
    lookup_field = "uuid"
    lookup_value_regex = "[0-9a-fA-F-]{32,36}"
    queryset = Case.objects.none()  # for the schema; get_queryset scopes by user
    curator_actions = frozenset({"destroy", "review", "overrides", "redactions"})
    idempotent_actions = frozenset({"create", "batch"})  # read by api.schema for 409/422

    def get_queryset(self):
        return case_list(user=self.request.user, filters=CaseFilters())

    def get_object(self):
        if "local_id" in self.kwargs:  # by_local_id, and OPTIONS on it ("metadata")
            key = local_id_key(normalise_local_id(self.kwargs["local_id"]))
            cases = self.get_queryset().filter(
                institution=self._institution_named({}), local_id_key=key
            )
            case = get_object_or_404(cases)
            self.check_object_permissions(self.request, case)
        else:
            case = super().get_object()
        self.headers["ETag"] = case_etag(case)
        return case

    # ---------------------------------------------------------------- writes

    @idempotent
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        write = case_submit(
            institution=self._institution_named(serializer.validated_data),
            # Required and non-blank on create (CaseSerializer.get_fields).
            local_id=serializer.validated_data["local_id"],
            payload=serializer.payload(),
            actor=request.user,
        )
        return self._write_response(write, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        case = self.get_object()
        serializer = self.get_serializer(case, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        given_local_id = serializer.validated_data.get("local_id", case.local_id)
        if local_id_key(normalise_local_id(given_local_id)) != case.local_id_key:
            raise ValidationError({"local_id": ["A case's local_id cannot change."]})
        write = case_update(
            case=case,
            payload=serializer.payload(),
            actor=request.user,
            partial=partial,
            expected_version=expected_version(request),
        )
        return self._write_response(write, status.HTTP_200_OK)

    def destroy(self, request, *args, **kwargs):
        case = self.get_object()
        precondition = expected_version(request)
        if precondition is not None and not precondition.holds_for(case.version):
            raise StaleVersion(case.version)
        case_delete(case=case, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @_case_step(
        CaseReviewSerializer,
        "Review a case",
        "Curators move a case to in_review, verified or rejected (a rejection needs a "
        "reason). From submitted a case may go to any of them; from in_review to verified "
        "or rejected; a decision (verified, rejected) changes only by re-opening it to "
        "in_review first (409 otherwise), and a rejection's reason may be corrected. A "
        "review to the status the case already has (and the same reason) writes nothing "
        "and keeps the version.",
    )
    def review(self, request, uuid=None):
        return self._changed_by(CaseReviewSerializer, case_review)

    @_case_step(
        CaseOverrideSerializer,
        "Confirm flagged combinations (curators)",
        "A soft edit flags a combination that is unusual but possible (see `flags` on the "
        "case); the case is stored but not counted in statistics until a curator confirms "
        "each open flag here, with a reason. Who, when and why are kept on the flag and in "
        "the case's history. 400 names a flag that is not open on the case.",
    )
    def overrides(self, request, uuid=None):
        return self._changed_by(CaseOverrideSerializer, case_confirm_flags)

    @_case_step(
        CaseRedactionSerializer,
        "Redact identifying text from a case and its history (curators)",
        "Replaces the named fields in the case and in every history row of it (and in "
        "stored idempotent replies and admin log entries) with a redaction mark: "
        "`local_id` becomes `redacted-<uuid>`, free text `[redacted]`. The event is "
        "recorded with who, when and which fields, never the old value.",
    )
    def redactions(self, request, uuid=None):
        return self._changed_by(CaseRedactionSerializer, case_redact)

    def _changed_by(self, body, service) -> Response:
        """A step on one case: its body checked first (its fields are the service's
        arguments), then the case found and changed."""
        params = body(data=self.request.data)
        params.is_valid(raise_exception=True)
        case = service(case=self.get_object(), actor=self.request.user, **params.validated_data)
        return self._case_response(case, status.HTTP_200_OK)

    # ---------------------------------------------------------------- by the submitter's key

    @extend_schema(
        methods=["GET"],
        parameters=[LOCAL_ID, INSTITUTION, ETAG],
        responses=CaseSerializer,
        summary="Read a case by your local id",
    )
    @extend_schema(
        methods=["PUT"],
        parameters=[LOCAL_ID, INSTITUTION, IF_MATCH, ETAG],
        request=CaseReplaceSerializer,
        responses=_CASE_WRITTEN,
        examples=BY_LOCAL_ID_EXAMPLES,
        summary="Create or replace a case by your local id",
        description=(
            "Idempotent upsert: 201 when the case is new, 200 when it replaced your stored "
            "case, 200 with the same version and no new history entry when nothing changed. "
            "Safe to resend. `local_id` in the body may be left out; if given it must match "
            "the URL. With If-Match, a stale version (or a case that does not exist yet) gets "
            "412 and nothing is written."
        ),
    )
    @action(
        detail=False,
        methods=["get", "put"],
        url_path=r"by-local-id/(?P<local_id>[^/]+)",
        url_name="by-local-id",
    )
    def by_local_id(self, request, local_id=None):
        if request.method == "GET":
            return Response(self.get_serializer(self.get_object()).data)
        data = {"local_id": local_id, **request.data} if isinstance(request.data, dict) else None
        serializer = self.get_serializer(data=data)
        serializer.is_valid(raise_exception=True)
        given = serializer.validated_data["local_id"]
        if local_id_key(normalise_local_id(given)) != local_id_key(normalise_local_id(local_id)):
            raise ValidationError({"local_id": ["The body's local_id differs from the URL's."]})
        write = case_upsert(
            institution=self._institution_named(serializer.validated_data),
            local_id=local_id,
            payload=serializer.payload(),
            actor=request.user,
            expected_version=expected_version(request),
        )
        created = write.outcome == Outcome.CREATED
        return self._write_response(
            write, status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    # ---------------------------------------------------------------- batches

    @extend_schema(
        request=CaseBatchSerializer,
        responses={200: CaseBatchResultSerializer},
        parameters=[IDEMPOTENCY_KEY_PARAMETER, INSTITUTION, REPLAYED_PARAMETER],
        examples=BATCH_EXAMPLES,
        summary="Submit up to 1,000 cases",
        description=(
            "Each case is created, replaced or left unchanged by its local_id, like "
            "PUT by-local-id, or refused with its field errors; one bad case never stops "
            "the others and no case is half-written. The answer is 200 with one result per "
            "case in request order. A local_id may appear once per batch: later repeats are "
            "error items. More than 1,000 cases, or more than 6,000 metastases and "
            "treatments together: 413."
        ),
    )
    @action(detail=False, methods=["post"])
    @idempotent
    def batch(self, request):
        cases = request.data.get("cases") if isinstance(request.data, dict) else None
        if isinstance(cases, list):
            check_batch_size(len(cases), batch_rows(cases))  # 413 before any case is read
        envelope = CaseBatchSerializer(data=request.data)
        envelope.is_valid(raise_exception=True)
        code = envelope.validated_data.get("institution")
        institution = self._institution_named({"institution": {"code": code}} if code else {})
        reader = self.get_serializer()
        items = [
            batch_item_of(reader, raw, institution) for raw in envelope.validated_data["cases"]
        ]
        results = case_batch_submit(institution=institution, items=items, actor=request.user)
        return Response(CaseBatchResultSerializer.of(results))

    # ---------------------------------------------------------------- helpers

    def _institution_named(self, validated) -> Institution:
        """Submitters write for their own institution; curators name one (body or query)."""
        code = validated.get("institution", {}).get("code")
        in_query = self.request.query_params.get("institution")
        if code is not None and in_query is not None and code != in_query:
            raise ValidationError({"institution": ["The body and the query name different ones."]})
        return access.institution_for_submission(
            self.request.user, code if code is not None else in_query
        )

    def _write_response(self, write: CaseWrite, status_code: int) -> Response:
        # A case just written is answered with as the write left it in memory (no re-read).
        if write.details is not None:
            return self._case_response(write.details, status_code)
        return self._case_response(write.case, status_code)

    def _case_response(self, case: Case | CaseDetails, status_code: int) -> Response:
        fresh = (
            case
            if isinstance(case, CaseDetails)
            else with_case_details(Case.objects.filter(pk=case.pk)).get()
        )
        headers = {"ETag": case_etag(fresh)}
        self.headers["ETag"] = headers["ETag"]  # not the read version get_object left there
        if status_code == status.HTTP_201_CREATED:
            headers["Location"] = reverse("case-detail", kwargs={"uuid": fresh.uuid})
        return Response(self.get_serializer(fresh).data, status=status_code, headers=headers)
