"""One error shape for the whole API: RFC 9457 problem details.

Every exception a view can raise, from DRF, Django or the domain, becomes
`application/problem+json` with `type`, `title`, `status`, `detail`, a machine
`code` and, for invalid input, `errors` listing each field path and message.
Nothing a client sends produces a 500; the database being down produces 503.
"""

import logging
import sys
from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from psycopg.errors import QueryCanceled
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from api.faults import fault_of
from registry.access import ReleaseRetired
from registry.complements import DifferencingRefused
from registry.error_codes import ErrorCode
from registry.review import ReviewTransitionRefused
from registry.services.batch import BatchTooLarge
from registry.services.cases import StaleVersion

PROBLEM_CONTENT_TYPE = "application/problem+json"
# An error answer lists at most this many field errors, and says how many it left out.
MAX_PROBLEM_ERRORS = 100
# A failover or a cache restart takes seconds; clients retry with the same Idempotency-Key.
FAULT_RETRY_AFTER_SECONDS = 5
logger = logging.getLogger("api.problems")


class FilterRemovesTooFew(exceptions.ValidationError):
    """400 naming each filter that removes too few cases from the rest of an analyst's query."""

    problem_code = ErrorCode.FILTER_REMOVES_TOO_FEW
    problem_detail = (
        "A filter removes too few cases from the rest of the query to be shown; see errors."
    )


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The resource has changed since you read it."
    default_code = ErrorCode.STALE_VERSION


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request holds too much; split it."
    default_code = ErrorCode.TOO_LARGE


class IdempotencyKeyInFlight(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = (
        "A request with this Idempotency-Key is still being processed; "
        "retry after it has finished to get its response."
    )
    default_code = ErrorCode.IDEMPOTENCY_KEY_IN_FLIGHT


class IdempotencyKeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = (
        "This Idempotency-Key was used with a different request; use a new key for a new request."
    )
    default_code = ErrorCode.IDEMPOTENCY_KEY_REUSED


class ReviewConflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The case's review status does not lead there."
    default_code = ErrorCode.REVIEW_TRANSITION_REFUSED


class ReleaseGone(exceptions.APIException):
    status_code = status.HTTP_410_GONE
    default_detail = "This release was retired."
    default_code = ErrorCode.RELEASE_RETIRED

    def __init__(self, retired: ReleaseRetired):
        super().__init__(str(retired))
        # RFC 9457 extension members: which release to count instead.
        self.extensions = {
            "release": retired.release.name,
            "successor": retired.release.successor.name,
        }


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The registry database is unavailable; retry later."
    default_code = ErrorCode.DATABASE_UNAVAILABLE


def problem(status_code: int, detail: str, code: str, errors: list | None = None) -> dict:
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status_code).phrase,
        "status": status_code,
        "detail": detail,
        "code": str(code),  # an ErrorCode is a str, but YAML renders only plain ones
    }
    if errors is not None:
        body["errors"] = errors
    return body


def field_errors(detail, path: str = "") -> list[dict]:
    """Flattens DRF's nested error structure into [{field, message, code}]."""
    if isinstance(detail, dict):
        found = []
        for key, value in detail.items():
            if key in ("non_field_errors", "__all__"):
                found += field_errors(value, path)
            elif isinstance(key, int):  # DRF keys the items of a nested list by index
                found += field_errors(value, f"{path}[{key}]")
            else:
                found += field_errors(value, f"{path}.{key}" if path else str(key))
        return found
    if isinstance(detail, list):
        found = []
        for index, item in enumerate(detail):
            if isinstance(item, dict | list):
                found += field_errors(item, f"{path}[{index}]")
            else:
                found += field_errors(item, path)
        return found
    return [
        {
            "field": path or None,
            "message": str(detail),
            "code": getattr(detail, "code", ErrorCode.INVALID),
        }
    ]


def _as_api_exception(exc: Exception) -> Exception:
    if isinstance(exc, DjangoValidationError):
        detail = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        return exceptions.ValidationError(detail)
    if isinstance(exc, DifferencingRefused):
        return FilterRemovesTooFew(exc.refused, code=ErrorCode.FILTER_REMOVES_TOO_FEW)
    if isinstance(exc, StaleVersion):
        if exc.current_version is None:
            return PreconditionFailed("If-Match names a version, but there is no such case.")
        return PreconditionFailed(
            f"The case is at version {exc.current_version}; read it again and reapply your change."
        )
    if isinstance(exc, ReleaseRetired):
        return ReleaseGone(exc)
    if isinstance(exc, ReviewTransitionRefused):
        return ReviewConflict(str(exc))
    if isinstance(exc, BatchTooLarge):
        return PayloadTooLarge(str(exc), code=ErrorCode.BATCH_TOO_LARGE)
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    if fault := fault_of(exc):
        logger.warning("service unavailable: %s", fault[0])
        unavailable = ServiceUnavailable(fault[1], code=fault[0])
        unavailable.wait = FAULT_RETRY_AFTER_SECONDS  # DRF sends it as Retry-After
        return unavailable
    if isinstance(exc, OperationalError) and isinstance(exc.__cause__, QueryCanceled):
        logger.warning("statement timeout: %s", exc)
        return ServiceUnavailable(
            "The request needed more database time than one request may take "
            f"({settings.API_STATEMENT_TIMEOUT_MS} ms a statement); send less "
            "(split a batch, narrow a query) or retry later.",
            code=ErrorCode.STATEMENT_TIMEOUT,
        )
    if isinstance(exc, OperationalError | InterfaceError):
        logger.warning("database unavailable: %s", exc.__class__.__name__)
        return ServiceUnavailable()
    return exc


def problem_exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER: every error as a problem document."""
    exc = _as_api_exception(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        if isinstance(exc, DatabaseError):
            logger.exception("database error")
        else:
            logger.exception("unhandled error")
        return Response(
            problem(
                500, "An unexpected error occurred; it has been logged.", ErrorCode.SERVER_ERROR
            ),
            status=500,
            content_type=PROBLEM_CONTENT_TYPE,
        )
    code = getattr(exc, "default_code", "error")
    errors = None
    omitted = 0
    if isinstance(exc, exceptions.ValidationError):
        errors = field_errors(exc.detail)
        detail = getattr(exc, "problem_detail", "The request has invalid fields; see errors.")
        code = getattr(exc, "problem_code", ErrorCode.INVALID)
        if len(errors) > MAX_PROBLEM_ERRORS:
            errors, omitted = errors[:MAX_PROBLEM_ERRORS], len(errors) - MAX_PROBLEM_ERRORS
            detail = f"{detail.removesuffix('.')} ({omitted} more not listed)."
    elif isinstance(exc.detail, dict | list):
        detail = "; ".join(e["message"] for e in field_errors(exc.detail))
    else:
        detail = str(exc.detail)
        code = getattr(exc.detail, "code", code)
    response.data = problem(response.status_code, detail, code, errors)
    if omitted:
        response.data["errors_omitted"] = omitted
    response.data.update(getattr(exc, "extensions", {}))
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


# ---------------------------------------------------------------- outside DRF views


def problem_response(status_code: int, detail: str, code: str) -> JsonResponse:
    """A problem document from plain Django code (middleware, URL handlers)."""
    return JsonResponse(
        problem(status_code, detail, code), status=status_code, content_type=PROBLEM_CONTENT_TYPE
    )


def not_found(request, exception=None):
    return problem_response(404, "No such resource.", ErrorCode.NOT_FOUND)


def server_error(request):
    """handler500: Django calls it while handling the exception, so it can tell a fault
    of the cache or a read-only database (503, outside DRF views too) from a bug."""
    if fault := fault_of(sys.exc_info()[1]):
        response = problem_response(503, fault[1], fault[0])
        response["Retry-After"] = str(FAULT_RETRY_AFTER_SECONDS)
        return response
    return problem_response(
        500, "An unexpected error occurred; it has been logged.", ErrorCode.SERVER_ERROR
    )


def bad_request(request, exception=None):
    return problem_response(400, "The request could not be understood.", ErrorCode.BAD_REQUEST)


def permission_denied(request, exception=None):
    return problem_response(
        403, "You do not have permission to do this.", ErrorCode.PERMISSION_DENIED
    )


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: the admin's and the sign-in forms' CSRF refusals are problems too."""
    return problem_response(
        403,
        "The form's CSRF token is missing or wrong; reload the page and send it again.",
        ErrorCode.CSRF_FAILED,
    )
