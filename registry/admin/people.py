"""Institutions and the accounts that act for them."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
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
