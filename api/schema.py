"""OpenAPI generation: every operation documents the problem responses it can send."""

from django.db import DatabaseError
from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiFilterExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent

from api.serializers.base import ProblemSerializer
from registry.models import Subtype

PROBLEM_MEDIA = "application/problem+json"

# Statuses any authenticated operation can answer with.
_ALWAYS = {
    "401": "Missing, invalid, expired or revoked credentials",
    "403": "Your role may not do this",
    "406": "The Accept header asks for a format the API does not offer",
    "414": "The URL is longer than 8,000 characters",
    "415": "The Content-Type names a charset that is no encoding of JSON (UTF-8, UTF-16/32)",
    "429": (
        "Too many requests for this token, or too many failed tokens from this address; "
        "retry after Retry-After seconds"
    ),
    "503": (
        "The database is unavailable or read-only, the shared cache is down, the request "
        "ran over its time budget, or the statistics pool is full; retry after Retry-After"
    ),
}


class RegistryAutoSchema(AutoSchema):
    """Adds the RFC 9457 error responses the server really sends for each operation."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code, description in self._problem_statuses().items():
            if code not in responses:
                response = self._get_response_for_code(
                    ProblemSerializer, code, media_types=[PROBLEM_MEDIA], direction=direction
                )
                response["description"] = description
                responses[code] = response
        return responses

    def _problem_statuses(self) -> dict[str, str]:
        method = self.method.upper()
        statuses = dict(_ALWAYS)
        writes = method in ("POST", "PUT", "PATCH")
        if writes or method == "GET":
            statuses["400"] = "Invalid input or query parameter; `errors` names each field"
        if method == "GET" and self.path.startswith("/api/v1/stats/"):
            statuses["400"] += (
                "; for analysts also (code filter_removes_too_few) a filter that removes too "
                "few cases from the rest of the query to be shown (docs/statistics.md)"
            )
        if writes:
            statuses["413"] = "The request body is too large"
            statuses["415"] = "The body is not application/json in UTF-8 (or UTF-16/32)"
        if getattr(self.view, "throttle_classes", None) and any(
            getattr(throttle, "scope", "") == "statistics_person"
            for throttle in self.view.throttle_classes
        ):
            statuses["429"] = (
                "Too many requests for this token or this person (token and session together), "
                "or, for analysts, a new table past the daily budget of distinct tables "
                "(code daily_table_budget); retry after Retry-After seconds"
            )
        if "{" in self.path:
            statuses["404"] = "No such resource, or not yours to see"
        if method in ("PUT", "PATCH", "DELETE"):
            statuses["412"] = "If-Match names no current version of the case"
        if method == "DELETE":
            statuses["400"] = 'If-Match is not an entity-tag list (e.g. "v3") or *'
        if getattr(self.view, "action", None) == "review":
            statuses["409"] = (
                "The case's review status does not lead to the one asked for "
                "(code review_transition_refused); re-open a decision (in_review) first"
            )
        if getattr(self.view, "action", None) in getattr(self.view, "idempotent_actions", ()):
            statuses["409"] = (
                "A request with this Idempotency-Key is still in progress; retry after "
                "Retry-After seconds to get its response"
            )
            statuses["422"] = "This Idempotency-Key was used with a different request body"
            if getattr(self.view, "action", None) == "batch":
                statuses["413"] = (
                    "More than 1,000 cases or 6,000 metastases and treatments, "
                    "or the body is too large"
                )
        # Statuses particular to a view (e.g. 410 for a retired release), declared on it.
        statuses.update(getattr(self.view, "problem_statuses", {}))
        return statuses


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Documents `Authorization: Bearer <token>` for every operation."""

    target_class = "api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "Token from issue_token"}


class CaseFilterBackendSchema(OpenApiFilterExtension):
    """The case filters are documented by `api.filters.CaseFilterParams`, made from the
    same FilterSet, rather than guessed from model fields they do not map to one by one."""

    target_class = "api.filters.CaseFilterBackend"
    priority = 1  # before drf-spectacular's own django-filter extension

    def get_schema_operation_parameters(self, auto_schema, *args, **kwargs):
        return []


# ---------------------------------------------------------------- closed value sets


def loaded_subtype_codes() -> list[str]:
    """The subtype codes of this registry, for the schema's enums (none without a database)."""
    try:
        return list(Subtype.objects.order_by("code").values_list("code", flat=True))
    except (DatabaseError, RuntimeError):  # no database at hand: a build step, a unit test
        return []


class SubtypeCodeFieldSchema(OpenApiSerializerFieldExtension):
    """A subtype is one of the loaded subtypes: an enum, read when the schema is made."""

    target_class = "api.serializers.base.SubtypeCodeField"

    def map_serializer_field(self, auto_schema, direction):
        schema = {"type": "string", "maxLength": self.target.max_length}
        codes = loaded_subtype_codes()
        if codes:
            schema["enum"] = codes
        return schema


class CodeListFieldSchema(OpenApiSerializerFieldExtension):
    """A list filter: an array (repeat the parameter, or separate values with commas)."""

    target_class = "api.filters.CodeListField"

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        items = {"type": "string"}
        values = list(field.choices or (field.schema_choices() if field.schema_choices else []))
        if values:
            # One named enum per value set (SexEnum, ReviewStatusEnum...), shared with the
            # bodies, so a generated client has one type for `sex` wherever it appears.
            name = _ENUM_NAMES.get(field.field_name, f"{field.field_name.title()}FilterEnum")
            component = ResolvedComponent(
                name=name,
                type=ResolvedComponent.SCHEMA,
                object=name,
                schema={"enum": values, "type": "string"},
            )
            auto_schema.registry.register_on_missing(component)
            items = component.ref
        return {"type": "array", "items": items}


# Filters whose values are those of a body field: the enum component of that field.
_ENUM_NAMES = {
    "sex": "SexEnum",
    "status": "ReviewStatusEnum",
    "source": "SourceEnum",
    "subtype": "SubtypeEnum",
}
