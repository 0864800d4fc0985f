"""Curating the atlas: citations added from their records, and the linkage review queue.

A curator adds a report by its DOI or PMID: the record is fetched where the
server may reach PubMed and Crossref (REGISTRY_CITATION_FETCH), or uploaded
(PubMed XML, MEDLINE text, Crossref JSON). Nothing of the citation is typed.
Candidate pairs from `manage.py link_cases` wait in a queue, most probable
first, and are confirmed (one patient) or rejected here; both decisions call
`registry.linkage.persons.link_decide`, which recounts the person.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.html import format_html, format_html_join

from registry.citations import (
    FetchingDisabled,
    fetch_record,
    normalise_doi,
    normalise_pmid,
    read_record,
)
from registry.linkage.persons import link_decide
from registry.models import Case, Citation, LinkCandidate, LinkStatus
from registry.services.literature import citation_for


class CitationAddForm(forms.ModelForm):
    """A report by its identifier, with its record file where the server cannot fetch it."""

    identifier = forms.CharField(
        max_length=220, help_text="The report's DOI (10.xxxx/...) or PMID (digits)."
    )
    record = forms.FileField(
        required=False,
        help_text="PubMed XML, MEDLINE text or Crossref JSON; needed where the server "
        "does not fetch citations.",
    )

    class Meta:
        model = Citation
        fields = ()

    def clean(self):
        identifier = (self.cleaned_data.get("identifier") or "").strip()
        try:
            pmid = normalise_pmid(identifier) if identifier.isdigit() else ""
            doi = "" if pmid else normalise_doi(identifier)
        except ValueError as error:
            raise ValidationError({"identifier": str(error)}) from None
        upload = self.cleaned_data.get("record")
        try:
            if upload is not None:
                record = read_record(upload.read())
            else:
                record = fetch_record(doi=doi, pmid=pmid)
        except FetchingDisabled as error:
            raise ValidationError({"record": str(error)}) from None
        except OSError as error:
            raise ValidationError({"record": f"The record could not be fetched: {error}"}) from None
        if (doi and record.doi != doi) or (pmid and record.pmid != pmid):
            raise ValidationError(
                {"record": f"The record is of {record.doi or record.pmid}, not {identifier}."}
            )
        try:
            self.instance = citation_for(record=record)
        except ValidationError as error:
            raise ValidationError({"record": error.messages}) from None
        return self.cleaned_data


@admin.register(Citation)
class CitationAdmin(admin.ModelAdmin):
    list_display = ["__str__", "title", "doi", "pmid", "year", "cited_cases"]
    search_fields = ["title", "doi", "pmid", "journal"]
    readonly_fields = [
        "doi", "pmid", "title", "journal", "year", "authors", "affiliations", "abstract",
        "record_format", "created_at", "cited_cases",
    ]  # fmt: skip

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = CitationAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        return ["identifier", "record"] if obj is None else self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def has_change_permission(self, request, obj=None):
        return False  # a citation is its record: replaced by deleting and adding again

    @admin.display(description="Cases citing it")
    def cited_cases(self, citation: Citation) -> str:
        cases = Case.objects.none()
        if citation.doi:
            cases |= Case.objects.filter(doi__iexact=citation.doi)
        if citation.pmid:
            cases |= Case.objects.filter(pmid=citation.pmid)
        return ", ".join(str(case) for case in cases.select_related("institution")[:20]) or "-"


# ---------------------------------------------------------------- linkage review queue


def _facts(case: Case) -> str:
    sites = ", ".join(
        f"{lesion.site_id} ({lesion.months_from_primary} mo)" for lesion in case.metastases.all()
    )
    return (
        f"{case} [{case.source}, {case.status}] {case.sex}, {case.age_at_diagnosis} y, "
        f"{case.year_of_diagnosis}; {case.primary_site_id} {case.primary_morphology_id}; "
        f"ER {case.er_percent} PR {case.pr_percent} HER2 {case.her2_ihc or '-'}; {sites}"
    )


def _decide(modeladmin, request, queryset, status: str) -> None:
    decided = 0
    for candidate in queryset:
        try:
            link_decide(
                candidate=candidate,
                status=status,
                reason="Reviewed in the linkage queue.",
                actor=request.user,
            )
        except (PermissionDenied, ValidationError) as error:
            modeladmin.message_user(request, str(error), messages.ERROR)
            return
        decided += 1
    modeladmin.message_user(request, f"{decided} pair(s) marked {LinkStatus(status).label}.")


@admin.action(description="Confirm: the same patient (counted once)")
def confirm_pairs(modeladmin, request, queryset):
    _decide(modeladmin, request, queryset, LinkStatus.CONFIRMED)


@admin.action(description="Reject: different patients")
def reject_pairs(modeladmin, request, queryset):
    _decide(modeladmin, request, queryset, LinkStatus.REJECTED)


@admin.register(LinkCandidate)
class LinkCandidateAdmin(admin.ModelAdmin):
    list_display = ["__str__", "match_probability", "match_weight", "status", "reviewed_by"]
    list_filter = ["status"]
    actions = [confirm_pairs, reject_pairs]
    readonly_fields = [
        "first_case", "second_case", "match_probability", "match_weight", "agreement_table",
        "status", "reviewed_by", "reviewed_at", "review_reason", "found_at",
    ]  # fmt: skip
    fields = readonly_fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("case_a", "case_b", "reviewed_by")

    def has_add_permission(self, request):
        return False  # pairs come from linkage (`manage.py link_cases`)

    def has_change_permission(self, request, obj=None):
        return False  # decisions are the actions, which record who, when and why

    @admin.display(description="Case")
    def first_case(self, candidate):
        return _facts(Case.objects.prefetch_related("metastases").get(pk=candidate.case_a_id))

    @admin.display(description="Possibly the same patient as")
    def second_case(self, candidate):
        return _facts(Case.objects.prefetch_related("metastases").get(pk=candidate.case_b_id))

    @admin.display(description="Agreement per fact (level; weight)")
    def agreement_table(self, candidate):
        return format_html(
            "<table>{}</table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (fact, found.get("level"), found.get("weight"))
                    for fact, found in candidate.agreements.items()
                ),
            ),
        )
