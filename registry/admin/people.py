"""Institutions and the accounts that act for them."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils.html import format_html

from registry.models import Institution, User


@admin.register(Institution)
class InstitutionAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "country", "is_active", "cases_link"]
    list_filter = ["is_active", "country"]
    search_fields = ["code", "name"]

    @admin.display(description="cases")
    def cases_link(self, institution: Institution) -> str:
        # A link, not a count: counting a million cases per row would slow the list.
        url = (
            reverse("admin:registry_case_changelist") + f"?institution__id__exact={institution.pk}"
        )
        return format_html('<a href="{}">review queue</a>', url)


@admin.register(User)
class RegistryUserAdmin(UserAdmin):
    """Django's user admin plus the registry's role and institution."""

    fieldsets = [*UserAdmin.fieldsets, ("Registry", {"fields": ["role", "institution"]})]
    add_fieldsets = [*UserAdmin.add_fieldsets, ("Registry", {"fields": ["role", "institution"]})]
    list_display = ["username", "role", "institution", "is_staff", "is_active", "last_login"]
    list_filter = ["role", "institution", "is_staff", "is_superuser", "is_active"]
    list_select_related = ["institution"]

    # What only a superuser may change: who is a superuser, Django permissions and groups.
    SUPERUSER_ONLY_FIELDS = ("is_superuser", "groups", "user_permissions")

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            fields += self.SUPERUSER_ONLY_FIELDS
        return fields

    def has_change_permission(self, request, obj=None):
        # A curator manages the registry's accounts, never a superuser's.
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)

    def user_change_password(self, request, id, form_url=""):
        # A curator sets only its own password; anyone else's is a superuser's to reset.
        if not request.user.is_superuser and str(request.user.pk) != str(id):
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)
