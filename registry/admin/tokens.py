"""API tokens: issued here with the raw value shown once, revoked, never edited."""

from django import forms
from django.contrib import admin, messages
from django.db.models import Q
from django.utils import timezone
from django.utils.html import format_html

from registry.admin.history import AuditHistoryAdmin
from registry.models import ApiToken
from registry.services.tokens import token_holders, token_issue, token_revoke

_SHOWN_FIELDS = ["prefix", "user", "name", "created_at", "expires_at", "revoked_at", "last_used_at"]


class TokenIssueForm(forms.ModelForm):
    """Who the token acts for, what it is for and how long it lasts."""

    valid_days = forms.IntegerField(
        min_value=1,
        max_value=3650,
        initial=365,
        help_text="The token stops working after this many days.",
    )

    class Meta:
        model = ApiToken
        fields = ["user", "name"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Only submitters and analysts: a token for a curator or staff account is a way to act
        # as it (registry.services.tokens.token_issue refuses it too).
        self.fields["user"].queryset = token_holders()
        self.fields["user"].help_text = (
            "A submitter or analyst account. Tokens for curators, staff and superusers are "
            "issued on the server with manage.py issue_token."
        )


class TokenStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("usable", "Usable"), ("expired", "Expired"), ("revoked", "Revoked")]

    def queryset(self, request, queryset):
        now = timezone.now()
        not_expired = Q(expires_at__isnull=True) | Q(expires_at__gt=now)
        if self.value() == "usable":
            return queryset.filter(not_expired, revoked_at__isnull=True)
        if self.value() == "expired":
            return queryset.filter(expires_at__lte=now, revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(ApiToken)
class ApiTokenAdmin(AuditHistoryAdmin):
    """Tokens by prefix; the hash never leaves the database."""

    list_display = [*_SHOWN_FIELDS, "usable"]
    list_select_related = ["user"]
    list_filter = [TokenStateFilter]
    search_fields = ["prefix", "name", "user__username"]
    autocomplete_fields = ["user"]
    actions = ["revoke_tokens"]

    @admin.display(boolean=True)
    def usable(self, token: ApiToken) -> bool:
        return token.is_usable

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = TokenIssueForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request, obj=None):
        return ["user", "name", "valid_days"] if obj is None else _SHOWN_FIELDS

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else _SHOWN_FIELDS

    def has_change_permission(self, request, obj=None):
        # A token is issued and revoked, never edited: its page is for reading.
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        # Revoked, not deleted, so that who used which token stays on record.
        return False

    def save_model(self, request, obj, form, change):
        token, raw = token_issue(
            user=obj.user,
            name=obj.name,
            valid_days=form.cleaned_data["valid_days"],
            actor=request.user,
        )
        # The admin goes on with `obj` (its message, its redirect): make it the saved row.
        for field in ApiToken._meta.concrete_fields:
            setattr(obj, field.attname, getattr(token, field.attname))
        obj._state.adding = False
        message = format_html(
            "The new token for {} is <code>{}</code>. Copy it now: only its hash is kept, "
            "so it cannot be shown again.",
            token.user.username,
            raw,
        )
        self.message_user(request, message, messages.SUCCESS)

    @admin.action(description="Revoke selected tokens", permissions=["change"])
    def revoke_tokens(self, request, queryset):
        revoked = 0
        for token in queryset.filter(revoked_at__isnull=True):
            token_revoke(token=token, actor=request.user)
            revoked += 1
        self.message_user(request, f"{revoked} token(s) revoked.", messages.SUCCESS)
