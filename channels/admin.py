from django import forms
from django.contrib import admin
from django.utils import timezone
from django.utils.formats import date_format

from channels.models import ChannelAccount, InboundEvent, SandboxMessage
from channels.providers import PROVIDERS


class ChannelAccountForm(forms.ModelForm):
    """Credentials are write-only: the form never shows stored values back."""

    new_credentials = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One key=value per line. Keys given replace stored ones; others are kept. "
        "Stored values are never shown.",
    )

    class Meta:
        model = ChannelAccount
        fields = ["kind", "name", "api_base", "rate_limit", "enabled", "price_per_message",
                  "price_currency"]  # fmt: skip

    def clean_new_credentials(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for number, line in enumerate(self.cleaned_data["new_credentials"].splitlines(), 1):
            if not line.strip():
                continue
            key, sep, value = line.partition("=")
            if not sep or not key.strip():
                raise forms.ValidationError(f"line {number}: expected key=value")
            values[key.strip()] = value.strip()
        kind = self.cleaned_data.get("kind") or self.instance.kind
        allowed = set(PROVIDERS[kind].credential_keys) if kind in PROVIDERS else set()
        unknown = sorted(set(values) - allowed)
        if unknown:
            raise forms.ValidationError(
                f"unknown key(s) {', '.join(unknown)}; {kind} takes {', '.join(sorted(allowed))}"
            )
        return values

    def save(self, commit: bool = True) -> ChannelAccount:
        account = super().save(commit=False)
        account.credentials = {
            **(account.credentials or {}),
            **self.cleaned_data["new_credentials"],
        }
        if commit:
            account.save()
        return account


@admin.register(ChannelAccount)
class ChannelAccountAdmin(admin.ModelAdmin):
    form = ChannelAccountForm
    list_display = ("name", "kind", "enabled", "rate_limit", "credential_keys", "created_at")
    list_filter = ("kind", "enabled")
    readonly_fields = ("credential_keys", "webhook_url")

    @admin.display(description="Stored credentials")
    def credential_keys(self, obj: ChannelAccount) -> str:
        return ", ".join(sorted(obj.credentials or {})) or "—"

    @admin.display(description="Webhook URL")
    def webhook_url(self, obj: ChannelAccount) -> str:
        from channels.links import webhook_url

        return webhook_url(obj) if obj.pk else "—"


class HandledFilter(admin.SimpleListFilter):
    """Which events the handlers have run on; those a worker has yet to take stand out."""

    title = "handling"  # the sidebar reads "By handling"
    parameter_name = "handled"

    def lookups(self, request, model_admin):
        return [
            ("yes", "Handled"),
            ("waiting", "Waiting for a worker"),
            ("failing", "Failing, tried again later"),
            ("no", "Not handled"),
        ]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(processed_at=None)
        if self.value() == "waiting":
            return queryset.filter(processed_at=None, deferred=True)
        if self.value() == "failing":
            return queryset.filter(processed_at=None, attempts__gt=0)
        if self.value() == "no":
            return queryset.filter(processed_at=None)
        return queryset


@admin.register(InboundEvent)
class InboundEventAdmin(admin.ModelAdmin):
    list_display = ("received_at", "handled", "account", "kind", "platform_user_id", "short_text")
    list_filter = (HandledFilter, "kind", "account")

    @admin.display(description="Text")
    def short_text(self, obj: InboundEvent) -> str:
        return obj.text if len(obj.text) <= 40 else obj.text[:39] + "…"

    @admin.display(description="Handled")
    def handled(self, obj: InboundEvent) -> str:
        if obj.processed_at is not None:
            return "yes, by a worker" if obj.deferred else "yes, in the request"
        if obj.attempts and obj.retry_at is not None:
            times = {1: "once", 2: "twice"}.get(obj.attempts, f"{obj.attempts} times")
            again = timezone.localtime(obj.retry_at)
            today = again.date() == timezone.localdate()
            when = date_format(again, "TIME_FORMAT" if today else "SHORT_DATETIME_FORMAT")
            return f"failed {times}; next try {when}"
        return "waiting for a worker" if obj.deferred else "no (its request failed)"

    search_fields = ("platform_user_id", "event_id", "token")
    readonly_fields = [f.name for f in InboundEvent._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(SandboxMessage)
class SandboxMessageAdmin(admin.ModelAdmin):
    list_display = ("created_at", "account", "conversation", "direction")
    readonly_fields = ("account", "conversation", "direction", "body", "created_at")
