"""Hospitals' requests to withdraw one of their cases; curators decide by deleting it."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from registry import access
from registry.deidentification import find_identifiers, identifier_message
from registry.models import Case, CaseWithdrawal, User


@transaction.atomic
def case_request_withdrawal(*, case: Case, reason: str, actor: User) -> CaseWithdrawal:
    """Record that the case's institution asks for it to be withdrawn.

    Only a submitter of the case's own institution may ask (PermissionDenied
    otherwise). The reason is required and screened for identifiers like any
    free text. Asking again keeps the first request (its time and author).
    """
    if not access.visible_cases(actor).filter(pk=case.pk).exists() or actor.is_curator:
        raise PermissionDenied("Only the case's own hospital asks to withdraw it.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["Say why the case is withdrawn (e.g. a duplicate)."]})
    kinds = find_identifiers(reason)
    if kinds:
        raise ValidationError({"reason": [identifier_message(kinds)]})
    request, _ = CaseWithdrawal.objects.get_or_create(
        case=case,
        defaults={"requested_by": actor, "requested_at": timezone.now(), "reason": reason[:500]},
    )
    return request
