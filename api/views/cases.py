"""`/api/v1/cases/`: submitting, reading, correcting and reviewing cases."""

from django.db import transaction
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from api.etags import case_etag, expected_version
from api.filters import CaseFilterParams, case_filters_from
from api.pagination import CasePagination
from api.permissions import CaseAccess
from api.schema_examples import FOUNDING_CASE_EXAMPLES
from api.serializers.cases import CaseReviewSerializer, CaseSerializer
from registry.models import Case, Institution
from registry.selectors import CaseFilters, case_list, with_case_details
from registry.services.cases import case_create, case_delete, case_review, case_update

PAGE_PARAMS = frozenset({"cursor", "page_size"})

IF_MATCH = OpenApiParameter(
    "If-Match",
    location=OpenApiParameter.HEADER,
    required=False,
    description='ETag of the case as last read, e.g. "v3"; a stale one gets 412.',
)


@extend_schema_view(
    list=extend_schema(parameters=[CaseFilterParams], summary="List cases you may read"),
    create=extend_schema(examples=FOUNDING_CASE_EXAMPLES, summary="Submit a case"),
    retrieve=extend_schema(summary="Read one case"),
    update=extend_schema(parameters=[IF_MATCH], summary="Replace a case"),
    partial_update=extend_schema(parameters=[IF_MATCH], summary="Change some fields of a case"),
    destroy=extend_schema(summary="Delete a case (curators)"),
)
class CaseViewSet(viewsets.ModelViewSet):
    """Cases with their metastases and treatments, written in one request."""

    serializer_class = CaseSerializer
    permission_classes = [CaseAccess]
    pagination_class = CasePagination
    lookup_field = "uuid"
    lookup_value_regex = "[0-9a-fA-F-]{32,36}"
    queryset = Case.objects.none()  # for the schema; get_queryset scopes by user
    curator_actions = frozenset({"destroy", "review"})

    def get_queryset(self):
        filters = (
            case_filters_from(self.request, extra_params=PAGE_PARAMS)
            if self.action == "list"
            else None
        )
        return case_list(user=self.request.user, filters=filters or CaseFilters())

    def retrieve(self, request, *args, **kwargs):
        case = self.get_object()
        return Response(self.get_serializer(case).data, headers={"ETag": case_etag(case)})

    # ---------------------------------------------------------------- writes

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        local_id = serializer.validated_data.get("local_id")
        institution = self._institution_for_write(serializer.validated_data)
        case = case_create(
            institution=institution,
            local_id=local_id,
            payload=serializer.payload(),
            actor=request.user,
        )
        return self._case_response(case, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        case = self.get_object()
        serializer = self.get_serializer(case, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        given_local_id = serializer.validated_data.get("local_id", case.local_id)
        if given_local_id != case.local_id:
            raise ValidationError({"local_id": ["A case's local_id cannot change."]})
        write = case_update(
            case=case,
            payload=serializer.payload(),
            actor=request.user,
            partial=partial,
            expected_version=expected_version(request),
        )
        return self._case_response(write.case, status.HTTP_200_OK)

    def destroy(self, request, *args, **kwargs):
        case_delete(case=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=CaseReviewSerializer, responses=CaseSerializer, summary="Review a case")
    @action(detail=True, methods=["post"])
    def review(self, request, uuid=None):
        """Curators move a case to in_review, verified or rejected (with a reason)."""
        params = CaseReviewSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        with transaction.atomic():
            case = case_review(
                case=self.get_object(),
                status=params.validated_data["status"],
                reason=params.validated_data.get("reason", ""),
                actor=request.user,
            )
        return self._case_response(case, status.HTTP_200_OK)

    # ---------------------------------------------------------------- helpers

    def _institution_for_write(self, validated) -> Institution:
        """Submitters write for their own institution; curators name one."""
        user = self.request.user
        code = validated.get("institution", {}).get("code")
        if not validated.get("local_id"):
            raise ValidationError({"local_id": ["This field is required."]})
        if not user.is_curator:
            if code is not None and code != user.institution.code:
                raise ValidationError(
                    {"institution": ["You can submit only for your institution."]}
                )
            return user.institution
        if code is None:
            raise ValidationError({"institution": ["Curators name the institution of the case."]})
        institution = Institution.objects.filter(code=code, is_active=True).first()
        if institution is None:
            raise ValidationError({"institution": [f"Unknown institution '{code}'."]})
        return institution

    def _case_response(self, case: Case, status_code: int) -> Response:
        fresh = with_case_details(Case.objects.filter(pk=case.pk)).get()
        headers = {"ETag": case_etag(fresh)}
        if status_code == status.HTTP_201_CREATED:
            headers["Location"] = reverse("case-detail", kwargs={"uuid": fresh.uuid})
        return Response(self.get_serializer(fresh).data, status=status_code, headers=headers)
