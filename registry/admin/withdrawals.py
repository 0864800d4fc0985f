"""Hospitals' withdrawal requests: curators see them here and on the case's page.

A curator grants one by deleting the case (the case page's Delete, or the API),
which removes the request with it; until then the case stays and counts as before.
"""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from registry.admin.read_only import CaseRecord, CaseRecordInline
from registry.models import CaseWithdrawal


class CaseWithdrawalInline(CaseRecordInline):
    """The open withdrawal request on the case's page."""

    model = CaseWithdrawal
    fields = ["requested_by", "requested_at", "reason"]
    readonly_fields = fields
    verbose_name = "withdrawal requested by the hospital (delete the case to grant it)"


@admin.register(CaseWithdrawal)
class CaseWithdrawalAdmin(CaseRecord, admin.ModelAdmin):
    """Open withdrawal requests, oldest first, each linking to its case."""

    list_display = ["case_link", "institution", "requested_by", "requested_at", "reason"]
    list_select_related = ["case__institution", "requested_by"]
    readonly_fields = ["case_link", "requested_by", "requested_at", "reason"]
    fields = readonly_fields

    @admin.display(description="case")
    def case_link(self, withdrawal: CaseWithdrawal) -> str:
        address = reverse("admin:registry_case_change", args=[withdrawal.case_id])
        return format_html('<a href="{}">{}</a>', address, withdrawal.case.local_id)

    @admin.display(description="institution")
    def institution(self, withdrawal: CaseWithdrawal) -> str:
        return withdrawal.case.institution.code
