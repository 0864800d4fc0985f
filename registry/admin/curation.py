"""Curation of flagged and slipped cases: confirming soft edits and redacting text.

A soft edit (`registry.soft_edits`) leaves a case stored but uncounted until a
curator confirms it here, with a reason; a redaction removes identifying text
from a case and all its history. Both call the services the API calls, and both
are kept: the flag's confirmation (who, when, why) and a `Redaction` record
(who, when, which fields, never the value).
"""

from django import forms
from django.contrib import admin

from registry.admin.read_only import CaseRecord, CaseRecordInline
from registry.deidentification import find_identifier, identifier_message
from registry.models import CaseFlag, FlagCode, RedactedField, Redaction


class OverrideForm(forms.Form):
    """Which open flags a curator confirms on the selected cases, and why."""

    flags = forms.MultipleChoiceField(
        choices=FlagCode.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="Each selected case must have an open flag of every code ticked.",
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=2000,
        help_text="Why the unusual combination is right; kept with each flag. No identifiers.",
    )

    def clean_reason(self) -> str:
        return _screened(self.cleaned_data["reason"])


class RedactionForm(forms.Form):
    """Which stored text to redact from the selected cases and their history."""

    fields = forms.MultipleChoiceField(
        choices=RedactedField.choices, widget=forms.CheckboxSelectMultiple
    )
    reason = forms.CharField(
        required=False,
        max_length=200,
        help_text="Why (kept with the redaction record); never the removed value.",
    )

    def clean_reason(self) -> str:
        return _screened(self.cleaned_data["reason"])


def _screened(text: str) -> str:
    kind = find_identifier(text)
    if kind:
        raise forms.ValidationError(identifier_message([kind]))
    return text


# ---------------------------------------------------------------- on the case page


class CaseFlagInline(CaseRecordInline):
    """The case's soft edits, open or confirmed (confirm them with the queue's action)."""

    model = CaseFlag
    verbose_name = "soft-edit flag"
    verbose_name_plural = "soft-edit flags (confirm with the action “Confirm flags” in the queue)"
    fields = readonly_fields = (
        "code",
        "field",
        "message",
        "confirmed_by",
        "confirmed_at",
        "confirmation_reason",
    )

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("confirmed_by")


class RedactionInline(CaseRecordInline):
    """Redactions of this case: who, when, which fields."""

    model = Redaction
    fields = readonly_fields = ("redacted_at", "redacted_by", "fields", "reason", "rows_rewritten")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("redacted_by")


@admin.register(Redaction)
class RedactionAdmin(CaseRecord, admin.ModelAdmin):
    """Every redaction, including those of deleted cases (by UUID); read-only."""

    list_display = ["redacted_at", "case_uuid", "fields", "redacted_by", "reason", "rows_rewritten"]
    list_select_related = ["redacted_by"]
    search_fields = ["case_uuid"]
    readonly_fields = [field.name for field in Redaction._meta.fields]
