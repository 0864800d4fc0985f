"""Audit history in the admin: who changed what and when, and never a way to rewrite it."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.forms.models import BaseInlineFormSet
from simple_history.admin import SimpleHistoryAdmin

from registry.admin.read_only import CaseRecordInline
from registry.models import Metastasis, Treatment


class AuditHistoryAdmin(SimpleHistoryAdmin):
    """Shows a model's history; reverting is off, since a revert would skip the services."""

    def revert_disabled(self, request, obj=None):
        return True

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # django-simple-history saves a posted old version even when the button is
        # hidden; an old token version would, for one, undo its revocation.
        if request.method == "POST":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


class _HistoryFormSet(BaseInlineFormSet):
    @classmethod
    def get_default_prefix(cls):
        # Historical rows point at the case through a hidden relation ("+"), which
        # would leave the formset without a prefix of its own.
        return f"history-{cls.model._meta.model_name}"


class CasePartHistoryInline(CaseRecordInline):
    """Every version of a case's metastases or treatments, including deleted ones."""

    formset = _HistoryFormSet
    fk_name = "case"
    classes = ["collapse"]
    ordering = ["-history_date", "-history_id"]
    history_fields = ("history_date", "history_type", "history_user", "id")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("history_user")


class MetastasisHistoryInline(CasePartHistoryInline):
    model = Metastasis.history.model
    verbose_name = "metastasis change"
    verbose_name_plural = "history of the metastases"
    fields = readonly_fields = (
        *CasePartHistoryInline.history_fields,
        "site",
        "months_from_primary",
        "presentation",
        "size_mm",
        "misdiagnosis",
        "morphology",
    )

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("site", "morphology")


class TreatmentHistoryInline(CasePartHistoryInline):
    model = Treatment.history.model
    verbose_name = "treatment change"
    verbose_name_plural = "history of the treatments"
    fields = readonly_fields = (
        *CasePartHistoryInline.history_fields,
        "modality",
        "target",
        "target_metastasis",
        "intent",
        "months_from_primary",
        "response",
    )

    @admin.display(description="metastasis ID")
    def target_metastasis(self, row):
        # The id, not the row: an update replaces the metastases, so it may be gone.
        return row.metastasis_id
