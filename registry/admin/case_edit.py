"""A curator's edit of a case is judged by the same validation edits as the API.

Django validates the case form and each inline formset on its own, but the
registry's rules span all three (a metastatic site must differ from the primary
site; a treatment targets one of the case's own metastases). `CaseEdit` gathers
the case form and its two inline formsets of one request and, once each is
clean, runs `derive_case_values` and `check_case` on their unsaved instances,
putting every problem back on the field its path names.
"""

import re

from django import forms
from django.contrib import admin
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.forms.formsets import DELETION_FIELD_NAME
from django.forms.models import BaseInlineFormSet, construct_instance
from django.utils.text import capfirst

from registry.edits import check_case, derive_case_values
from registry.models import Case, Confirmation, Metastasis, Treatment
from registry.payload import (
    METASTASIS_FIELDS,
    TREATMENT_FIELDS,
    CasePayload,
    case_payload,
)
from registry.vocabularies import current_vocabularies

# "primary_site", "metastases", "metastases[0].site", "treatments[1].__all__"
_ERROR_PATH = re.compile(
    r"^(?:(?P<part>metastases|treatments)\[(?P<index>\d+)\]\.)?(?P<field>\w+)$"
)
_PART_NAMES = {Metastasis: "metastases", Treatment: "treatments"}


class CaseEdit:
    """One request's case form and inline formsets, judged together by the validation edits."""

    def __init__(self, case: Case) -> None:
        self.case = case
        self.form: forms.ModelForm | None = None
        self.formsets: dict[type, BaseInlineFormSet] = {}
        self.cleaned: set[type] = set()
        self.parts: dict[str, list[forms.ModelForm]] | None = None  # set once the case passed

    @classmethod
    def of(cls, case: Case) -> "CaseEdit":
        # The admin hands the one Case instance of a request to the form and to every
        # inline formset, so the instance is where they meet.
        edit = getattr(case, "_admin_edit", None)
        if edit is None:
            edit = case._admin_edit = cls(case)
        return edit

    def formset_cleaned(self, formset: BaseInlineFormSet) -> None:
        """Judge the whole case once both part formsets are clean; raise if it fails."""
        self.cleaned.add(formset.model)
        if self.cleaned != set(_PART_NAMES) or self.form is None:
            return
        parts = {_PART_NAMES[model]: _kept_forms(fs) for model, fs in self.formsets.items()}
        if not self.form.is_valid() or not all(f.is_valid() for fs in parts.values() for f in fs):
            return  # Django's own messages first: the edits judge a case whose values all parse.
        try:
            self._judge(parts)
        except ValidationError as problems:
            self._report(problems.message_dict, parts)
            raise ValidationError(
                "Not saved: the case breaks the registry's rules; see the marked fields."
            ) from problems
        self.parts = parts

    def payload(self) -> CasePayload:
        """The judged case as the services take it."""
        if self.parts is None:
            # Saving unjudged parts would drop the ones missing from the page.
            raise RuntimeError("The case was not judged: its part formsets were not all posted.")
        instances = self._instances(self.parts)
        return case_payload(self.case, instances["metastases"], instances["treatments"])

    # ---------------------------------------------------------------- judging

    def _judge(self, parts: dict[str, list[forms.ModelForm]]) -> None:
        vocab = current_vocabularies()
        instances = self._instances(parts)
        derive_case_values(self.case, vocab)
        check_case(self.case, instances["metastases"], instances["treatments"], vocab)
        # A rule the edits miss would otherwise reach the database as an IntegrityError.
        problems: dict[str, list[str]] = {}
        for prefix, instance in [("", self.case), *self._prefixed(instances)]:
            try:
                instance.validate_constraints()
            except ValidationError as broken:
                for field, messages in broken.message_dict.items():
                    problems.setdefault(f"{prefix}{field}", []).extend(messages)
        if problems:
            raise ValidationError(problems)

    @staticmethod
    def _instances(parts: dict[str, list[forms.ModelForm]]) -> dict[str, list]:
        return {part: [form.instance for form in part_forms] for part, part_forms in parts.items()}

    @staticmethod
    def _prefixed(instances: dict[str, list]):
        for part, rows in instances.items():
            for index, instance in enumerate(rows):
                yield f"{part}[{index}].", instance

    def _report(self, by_path: dict[str, list[str]], parts: dict[str, list]) -> None:
        for path, messages in by_path.items():
            form, field = self._locate(path, parts)
            for message in messages:
                if field in form.fields:
                    form.add_error(field, message)
                elif field == NON_FIELD_ERRORS:
                    form.add_error(None, message)
                else:
                    form.add_error(None, f"{capfirst(field.replace('_', ' '))}: {message}")

    def _locate(self, path: str, parts: dict[str, list]) -> tuple[forms.Form, str]:
        match = _ERROR_PATH.match(path)
        if match is None:
            return self.form, path
        if match["part"] is None:
            return self.form, match["field"]
        return parts[match["part"]][int(match["index"])], match["field"]


def _kept_forms(formset: BaseInlineFormSet) -> list[forms.ModelForm]:
    """The forms whose rows the case keeps: stored ones not deleted, new ones filled in."""
    kept = []
    for index, form in enumerate(formset.forms):
        deleted = formset.can_delete and form.cleaned_data.get(DELETION_FIELD_NAME, False)
        if not deleted and (index < formset.initial_form_count() or form.has_changed()):
            kept.append(form)
    return kept


# ---------------------------------------------------------------- forms


class JudgedByEditsForm(forms.ModelForm):
    """A model form that leaves judging its values to the validation edits."""

    def _post_clean(self):
        # Only carry the values over. Model validation would repeat the edits with
        # vaguer messages ("constraint violated") and before the derivations, such as
        # the Safe Harbor age cap; CaseEdit checks the constraints after the edits.
        self.instance = construct_instance(
            self, self.instance, self._meta.fields, self._meta.exclude
        )


class CaseForm(JudgedByEditsForm):
    """The case's own fields, with the version the curator started from."""

    loaded_version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta:
        model = Case
        fields = []  # the admin's fieldsets name them

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["loaded_version"].initial = self.instance.version
        CaseEdit.of(self.instance).form = self

    def clean_loaded_version(self) -> int:
        loaded = self.cleaned_data["loaded_version"]
        if loaded != self.instance.version:
            raise ValidationError(
                f"Someone changed this case since you opened it (it is now at version "
                f"{self.instance.version}); reload the page and make your edit again."
            )
        return loaded


class MetastasisForm(JudgedByEditsForm):
    """A metastasis, with its confirmation methods as checkboxes."""

    confirmed_by = forms.MultipleChoiceField(
        choices=Confirmation.choices, required=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Metastasis
        fields = []

    def clean_confirmed_by(self) -> list[str]:
        # Keep the stored order, so that an untouched list is not a change.
        chosen = self.cleaned_data["confirmed_by"]
        stored = [method for method in self.instance.confirmed_by or [] if method in chosen]
        return stored + [method for method in chosen if method not in stored]


class TreatmentForm(JudgedByEditsForm):
    """A treatment; the metastasis it targets is one of the case's."""

    class Meta:
        model = Treatment
        fields = []


class CasePartFormSet(BaseInlineFormSet):
    """The metastases or treatments of a case, judged with the case by `CaseEdit`."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.edit = CaseEdit.of(self.instance)
        self.edit.formsets[self.model] = self

    def add_fields(self, form, index):
        super().add_fields(form, index)
        if "metastasis" in form.fields:
            field = form.fields["metastasis"]
            field.queryset = Metastasis.objects.filter(case=self.instance.pk).select_related("site")
            field.label_from_instance = lambda metastasis: str(metastasis.site)

    def clean(self):
        super().clean()
        self.edit.formset_cleaned(self)


# ---------------------------------------------------------------- inlines


class CasePartInline:
    """Metastases and treatments are parts of the case: the case's permissions govern them."""

    formset = CasePartFormSet
    extra = 0

    def _may(self, request, action: str) -> bool:
        return request.user.has_perm(f"registry.{action}_case")

    def has_add_permission(self, request, obj=None):
        return self._may(request, "change")

    def has_change_permission(self, request, obj=None):
        return self._may(request, "change")

    def has_delete_permission(self, request, obj=None):
        return self._may(request, "change")

    def has_view_permission(self, request, obj=None):
        return self._may(request, "view") or self._may(request, "change")


class MetastasisInline(CasePartInline, admin.StackedInline):
    model = Metastasis
    form = MetastasisForm
    fields = METASTASIS_FIELDS
    autocomplete_fields = ["site", "morphology"]
    min_num = 1


class TreatmentInline(CasePartInline, admin.TabularInline):
    model = Treatment
    form = TreatmentForm
    fields = TREATMENT_FIELDS
