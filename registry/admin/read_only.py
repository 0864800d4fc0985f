"""Pages that show what only a service or a load writes: never added, changed or deleted here."""

from django.contrib import admin


class ReadOnly:
    """Mixed into a ModelAdmin or an inline whose rows the admin only shows."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CaseRecord(ReadOnly):
    """Read-only records of a case (history, flags, redactions): for whoever may see cases."""

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("registry.view_case") or request.user.has_perm(
            "registry.change_case"
        )


class CaseRecordInline(CaseRecord, admin.TabularInline):
    """A case's read-only records on its page."""

    extra = 0
    can_delete = False
