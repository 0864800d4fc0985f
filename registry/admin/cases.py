"""The curators' review queue: find cases, fix their codes, verify or reject them.

Every write goes through `registry.services.cases`, so an edit made here is
validated, versioned and recorded in the history exactly as one from the API.
"""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse

from registry.admin.case_edit import CaseEdit, CaseForm, MetastasisInline, TreatmentInline
from registry.admin.case_queue import (
    InstitutionFilter,
    MetastaticSiteGroupFilter,
    OtherCaseFilters,
    PrimarySiteGroupFilter,
    RejectionForm,
    SourceFilter,
    StatusFilter,
)
from registry.admin.curation import CaseFlagInline, OverrideForm, RedactionForm, RedactionInline
from registry.admin.history import (
    AuditHistoryAdmin,
    MetastasisHistoryInline,
    TreatmentHistoryInline,
)
from registry.admin.withdrawals import CaseWithdrawalInline
from registry.case_search import case_search
from registry.models import Case, Metastasis, ReviewStatus
from registry.review import ReviewTransitionRefused
from registry.services.cases import (
    Outcome,
    StaleVersion,
    case_delete,
    case_review,
    case_update,
)
from registry.services.flags import case_confirm_flags
from registry.services.redaction import case_redact


def _cases(count: int) -> str:
    return f"{count} case" if count == 1 else f"{count} cases"


# ---------------------------------------------------------------- the case admin


@admin.register(Case)
class CaseAdmin(AuditHistoryAdmin):
    """The review queue and the case page, with its parts and their history."""

    form = CaseForm
    inlines = [
        MetastasisInline,
        TreatmentInline,
        CaseFlagInline,
        CaseWithdrawalInline,
        RedactionInline,
        MetastasisHistoryInline,
        TreatmentHistoryInline,
    ]
    list_display = [
        "short_uuid",
        "institution_code",
        "local_id",
        "primary_site_code",
        "metastatic_sites",
        "status",
        "open_flags",
        "source",
        "updated_at",
    ]
    list_display_links = ["short_uuid", "local_id"]
    list_select_related = ["institution"]
    list_filter = [
        StatusFilter,
        "has_open_flags",  # the queue's own: cases a curator still has to confirm
        InstitutionFilter,
        MetastaticSiteGroupFilter,
        PrimarySiteGroupFilter,
        SourceFilter,
        OtherCaseFilters,
    ]
    search_fields = ["local_id"]  # what a term finds is registry.case_search
    search_help_text = (
        "Local ID (or part of it), UUID (or its first characters), a site code (C44.4) or "
        "category (C44), or words of a misdiagnosis: what q finds in the API."
    )
    show_full_result_count = False  # one COUNT(*) per page over a million cases is enough
    actions = ["mark_in_review", "mark_verified", "mark_rejected", "confirm_flags", "redact_text"]
    autocomplete_fields = ["primary_site", "primary_morphology"]
    readonly_fields = [
        "uuid",
        "institution",
        "local_id",
        "status",
        "rejection_reason",
        "version",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (
            "Submission",
            {
                "fields": [
                    ("uuid", "version"),
                    ("institution", "local_id"),
                    ("source", "doi", "pmid"),
                    ("status", "rejection_reason"),
                    "loaded_version",
                ]
            },
        ),
        (
            "Patient",
            {"fields": [("sex", "age_at_diagnosis", "menopausal_status", "year_of_diagnosis")]},
        ),
        (
            "Primary tumour",
            {
                "fields": [
                    ("primary_site", "primary_laterality"),
                    "primary_morphology",
                    ("grade", "stage_group"),
                ]
            },
        ),
        (
            "Receptors and subtype",
            {
                "fields": [
                    ("er_percent", "pr_percent", "ki67_percent"),
                    ("her2_ihc", "her2_ish"),
                    "subtype",
                ],
                "description": "Leave the subtype empty to derive it from the receptors.",
            },
        ),
        ("Outcome", {"fields": [("vital_status", "follow_up_months")]}),
        ("Record", {"fields": [("created_at", "updated_at")]}),
    ]
    history_list_display = ["status", "has_open_flags", "version"]

    def get_queryset(self, request):
        sites = Metastasis.objects.only("id", "case_id", "site_id")
        return super().get_queryset(request).prefetch_related(Prefetch("metastases", sites))

    # ---------------------------------------------------------------- queue columns

    @admin.display(description="UUID")
    def short_uuid(self, case: Case) -> str:
        return str(case.uuid)[:8]

    @admin.display(description="institution", ordering="institution__code")
    def institution_code(self, case: Case) -> str:
        return case.institution.code

    @admin.display(description="primary site", ordering="primary_site")
    def primary_site_code(self, case: Case) -> str:
        return case.primary_site_id

    @admin.display(description="metastatic sites")
    def metastatic_sites(self, case: Case) -> str:
        return ", ".join(sorted({metastasis.site_id for metastasis in case.metastases.all()}))

    @admin.display(description="open flags", boolean=True, ordering="has_open_flags")
    def open_flags(self, case: Case) -> bool:
        # Not counted in statistics until a curator confirms its flags.
        return case.has_open_flags

    def get_search_results(self, request, queryset, search_term):
        return queryset.filter(case_search(search_term)), False

    # ---------------------------------------------------------------- review actions

    @admin.action(description="Move selected cases to review", permissions=["change"])
    def mark_in_review(self, request, queryset):
        self._review(request, queryset, ReviewStatus.IN_REVIEW)

    @admin.action(description="Verify selected cases", permissions=["change"])
    def mark_verified(self, request, queryset):
        self._review(request, queryset, ReviewStatus.VERIFIED)

    @admin.action(description="Reject selected cases (asks for a reason)", permissions=["change"])
    def mark_rejected(self, request, queryset):
        return self._asking(
            request,
            queryset,
            RejectionForm,
            lambda answer: self._review(request, queryset, ReviewStatus.REJECTED, answer["reason"]),
            action="mark_rejected",
            verb="Reject",
            intro="Reject {cases}? A rejection needs a reason; it is stored with each case and "
            "in its history.",
        )

    def _review(self, request, queryset, status: str, reason: str = "") -> None:
        moved = unchanged = 0
        refused: list[str] = []
        with transaction.atomic():
            # Locked, so that a concurrent update cannot slip between read and version bump.
            selected = Case.objects.filter(pk__in=queryset.values("pk")).order_by("pk")
            for case in selected.select_for_update():
                try:
                    reviewed = case_review(
                        case=case, status=status, reason=reason, actor=request.user
                    )
                except ReviewTransitionRefused:
                    refused.append(case.local_id)
                    continue
                # case_review writes nothing when the review changes nothing.
                if reviewed.version == case.version:
                    unchanged += 1
                else:
                    moved += 1
        label = ReviewStatus(status).label.lower()
        if moved:
            self.message_user(request, f"{_cases(moved)} moved to {label}.", messages.SUCCESS)
        if unchanged:
            self.message_user(request, f"{_cases(unchanged)} already {label}.", messages.INFO)
        if refused:
            shown = ", ".join(refused[:10]) + (" …" if len(refused) > 10 else "")
            self.message_user(
                request,
                f"{_cases(len(refused))} not moved to {label} ({shown}): a verified or rejected "
                "case is re-opened (in review) before its decision changes.",
                messages.WARNING,
            )

    # ---------------------------------------------------------------- curation actions

    @admin.action(
        description="Confirm flags of selected cases (asks which and why)", permissions=["change"]
    )
    def confirm_flags(self, request, queryset):
        def confirm(answer):
            self._each_case(
                request,
                queryset,
                lambda case: case_confirm_flags(
                    case=case, codes=answer["flags"], reason=answer["reason"], actor=request.user
                ),
                done="flags confirmed",
            )

        return self._asking(
            request,
            queryset,
            OverrideForm,
            confirm,
            action="confirm_flags",
            verb="Confirm",
            intro="Confirm the unusual combinations flagged on these cases? Confirmed "
            "cases count in statistics; the reason is kept with each flag and its history.",
        )

    @admin.action(
        description="Redact identifying text from selected cases and their history",
        permissions=["change"],
    )
    def redact_text(self, request, queryset):
        def redact(answer):
            self._each_case(
                request,
                queryset,
                lambda case: case_redact(
                    case=case, fields=answer["fields"], reason=answer["reason"], actor=request.user
                ),
                done="redacted",
            )

        return self._asking(
            request,
            queryset,
            RedactionForm,
            redact,
            action="redact_text",
            verb="Redact",
            intro="Redact these fields from the cases and every history row of them? "
            "This cannot be undone; the redaction is recorded without the old value.",
        )

    def _asking(self, request, queryset, form_class, apply, *, action, verb, intro):
        """An action that needs an answer first (a reason, flags, fields): a page asks for
        it, and the posted answer, once valid, is applied. `{cases}` in `intro` counts them."""
        form = form_class(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            apply(form.cleaned_data)
            return None
        count = queryset.count()
        shown = list(queryset.prefetch_related("flags")[:20])
        context = {
            **self.admin_site.each_context(request),
            "title": f"{verb} cases",
            "intro": intro.format(cases=_cases(count)),
            "verb": verb,
            "action": action,
            "opts": self.opts,
            "form": form,
            "count": count,
            "cases": shown,
            "more": count - len(shown),
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/registry/case/action_form.html", context)

    def _each_case(self, request, queryset, change, done: str) -> None:
        """Apply `change` to each case in its own savepoint; report what was refused, by case."""
        changed = 0
        for case in Case.objects.filter(pk__in=queryset.values("pk")).order_by("pk"):
            try:
                with transaction.atomic():
                    change(case)
            except ValidationError as refused:
                self.message_user(request, f"{case}: {' '.join(refused.messages)}", messages.ERROR)
                continue
            changed += 1
        if changed:
            self.message_user(request, f"{_cases(changed)} {done}.", messages.SUCCESS)

    # ---------------------------------------------------------------- writes

    def has_add_permission(self, request):
        # Cases come in through the API, batches and the case loader, keyed by their
        # institution's local id; curators correct and review them here.
        return False

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except StaleVersion as stale:
            # Another write landed between this form's checks and its save.
            self.message_user(
                request,
                f"Not saved: the case changed meanwhile (now version {stale.current_version}). "
                "Make your edit again.",
                messages.ERROR,
            )
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request, obj, form, change):
        write = case_update(
            case=obj,
            payload=CaseEdit.of(obj).payload(),
            actor=request.user,
            expected_version=form.cleaned_data["loaded_version"],
        )
        if write.outcome == Outcome.UNCHANGED:
            message = f"Nothing to save: version {write.case.version} is unchanged."
            self.message_user(request, message, messages.INFO)

    def save_related(self, request, form, formsets, change):
        """The service saved the metastases and treatments with the case."""

    def construct_change_message(self, request, form, formsets, add=False):
        # The formsets were not saved themselves; the parts' history says what changed.
        return super().construct_change_message(request, form, [], add)

    def delete_model(self, request, obj):
        case_delete(case=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for case in queryset:
            case_delete(case=case, actor=request.user)
