"""Admin: the shop's endpoints (secrets write-only, rotated by an action) and the delivery log
with a resend action."""

import datetime as dt
import json

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html

from shopwebhooks.delivery import body, resend
from shopwebhooks.models import Endpoint, EventType, WebhookDelivery, new_secret

ROTATION = dt.timedelta(hours=24)  # how long the previous secret still signs


class EndpointForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        choices=EventType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every event.",
    )
    new_secret = forms.CharField(
        required=False,
        strip=True,
        min_length=24,
        widget=forms.PasswordInput(render_value=False),
        help_text="Write-only: the stored secret is never shown. Empty keeps it (a new endpoint "
        "gets a generated one, shown once). To change it without dropping events, use the "
        "“Rotate secret” action instead.",
    )

    class Meta:
        model = Endpoint
        fields = ["name", "url", "events", "enabled"]

    def save(self, commit: bool = True) -> Endpoint:
        endpoint = super().save(commit=False)
        if self.cleaned_data.get("new_secret"):
            endpoint.secret = self.cleaned_data["new_secret"]
        if commit:
            endpoint.save()
        return endpoint


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    form = EndpointForm
    list_display = ("name", "url", "enabled", "event_list", "rotating", "created_at")
    list_filter = ("enabled",)
    readonly_fields = ("rotating",)
    actions = ["rotate_secret"]

    @admin.display(description="Events")
    def event_list(self, obj: Endpoint) -> str:
        return ", ".join(obj.events) or "all"

    @admin.display(description="Previous secret signs until")
    def rotating(self, obj: Endpoint) -> str:
        until = obj.previous_secret_until
        return f"{until:%Y-%m-%d %H:%M} UTC" if until and until > timezone.now() else "—"

    def save_model(self, request: HttpRequest, obj: Endpoint, form, change: bool) -> None:
        generated = not change and not form.cleaned_data.get("new_secret")
        super().save_model(request, obj, form, change)
        if generated:
            self._show_once(request, obj)

    @admin.action(description="Rotate secret (the old one keeps signing for 24 hours)")
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> None:
        for endpoint in queryset:
            endpoint.previous_secret = endpoint.secret
            endpoint.previous_secret_until = timezone.now() + ROTATION
            endpoint.secret = new_secret()
            endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_until"])
            self._show_once(request, endpoint)

    def _show_once(self, request: HttpRequest, endpoint: Endpoint) -> None:
        self.message_user(
            request,
            format_html(
                "Secret of “{}”, shown this once — put it in the shop's webhook settings: "
                "<code>{}</code>",
                endpoint.name,
                endpoint.secret,
            ),
            messages.WARNING,
        )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "created_at", "event_type", "endpoint", "state", "attempts", "last_attempt_at",
        "last_status", "last_error", "next_attempt_at",
    )  # fmt: skip
    list_filter = ("state", "event__type", "endpoint")
    search_fields = ("=event__id",)
    list_select_related = ("event", "endpoint")
    actions = ["resend_selected"]
    fields = (
        "event_id_shown", "event_type", "endpoint", "state", "attempts", "last_attempt_at",
        "last_status", "last_error", "next_attempt_at", "delivered_at", "created_at",
        "request_body",
    )  # fmt: skip
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # the log is evidence of what the shop was told

    @admin.display(description="Event", ordering="event__type")
    def event_type(self, obj: WebhookDelivery) -> str:
        return obj.event.type

    @admin.display(description="Idempotency-Key")
    def event_id_shown(self, obj: WebhookDelivery) -> str:
        return str(obj.event_id)

    @admin.display(description="Body")
    def request_body(self, obj: WebhookDelivery) -> str:
        pretty = json.dumps(json.loads(body(obj)), indent=2, ensure_ascii=False)
        return format_html("<pre style='white-space: pre-wrap'>{}</pre>", pretty)

    @admin.action(description="Resend selected (same event, same Idempotency-Key)")
    def resend_selected(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        count = resend(list(queryset))
        self.message_user(request, f"{count} queued to be sent again now.")
