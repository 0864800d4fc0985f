"""Who may do what: deny by default, then open what each role needs."""

from rest_framework import permissions

from registry.access import can_read_statistics
from registry.models import Role


class IsCurator(permissions.BasePermission):
    """Curators only."""

    message = "Only curators may do this."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.is_curator)


class CaseAccess(permissions.BasePermission):
    """Submitters read and write their institution's cases; curators all; delete is curators'."""

    message = "Your role has no access to individual cases; analysts use /api/v1/stats/."

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if user.is_curator:
            return True
        if view.action in getattr(view, "curator_actions", ()):
            self.message = "Only curators may do this."
            return False
        # A deactivated institution writes and reads nothing (signed-in users included).
        return (
            user.role == Role.SUBMITTER
            and user.institution is not None
            and user.institution.is_active
        )


class CanReadVocabularies(permissions.BasePermission):
    """Every signed-in role reads the vocabularies."""

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated)


class CanReadStatistics(permissions.BasePermission):
    """Analysts and curators read the statistics; submitters do not.

    A hospital knows its own cases exactly, so it could subtract them from a
    published count and learn about the few other patients in it, which the
    small-cell threshold does not protect against.
    """

    message = "Statistics are for analysts and curators; hospital systems read their own cases."

    def has_permission(self, request, view):
        return can_read_statistics(request.user)
