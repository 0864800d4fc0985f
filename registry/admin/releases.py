"""Releases in the admin: made (the add form runs the service), listed, retired; never edited."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from registry.models import Release
from registry.services.releases import release_create, release_name_refusal, release_retire

_SHOWN = [
    "name",
    "created_at",
    "created_by",
    "software_version",
    "cases",
    "metastases",
    "storage_bytes",
    "seconds_to_create",
    "checksum",
    "previous",
    "retired_at",
    "successor",
    "description",
    "changes",
]


class ReleaseCreateForm(forms.ModelForm):
    """A name (default: this year's next number) and the curators' notes."""

    name = forms.CharField(required=False, help_text="e.g. 2026.4; empty: this year's next number")

    class Meta:
        model = Release
        fields = ["name", "description"]

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        refusal = release_name_refusal(name) if name else None
        if refusal:
            raise forms.ValidationError(refusal)
        return name


@admin.register(Release)
class ReleaseAdmin(admin.ModelAdmin):
    """A release is made from what analysts count now, and is never changed afterwards."""

    list_display = ["name", "created_at", "cases", "metastases", "storage_bytes", "retired_at"]
    list_select_related = ["successor"]
    actions = ["retire_releases"]
    form = ReleaseCreateForm

    def get_readonly_fields(self, request, obj=None):
        return _SHOWN if obj is not None else []

    def get_fields(self, request, obj=None):
        return _SHOWN if obj is not None else ["name", "description"]

    def has_change_permission(self, request, obj=None):
        # Viewing a release, and the retire action, need the change permission's holders;
        # the fields stay read-only.
        return request.user.has_perm("registry.change_release")

    def has_delete_permission(self, request, obj=None):
        return False  # retire instead: its answers become 410, its record stays

    def save_model(self, request, obj, form, change):
        if change:
            return
        made = release_create(
            name=form.cleaned_data["name"] or None,
            description=form.cleaned_data["description"],
            by=request.user,
        )
        obj.pk, obj.name = made.pk, made.name
        self.message_user(
            request, f"Release {made.name}: {made.cases} cases in {made.seconds_to_create:.1f} s."
        )

    @admin.action(description="Retire the selected releases (they answer 410, naming the newest)")
    def retire_releases(self, request, queryset):
        for release in queryset.order_by("created_at"):
            try:
                release_retire(release=release)
            except ValidationError as error:
                self.message_user(request, "; ".join(error.messages), messages.ERROR)
            else:
                self.message_user(request, f"Retired {release.name}; next: {release.successor}.")
