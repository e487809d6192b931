"""Admin for WhatsApp templates: the synced list, a "Sync from WhatsApp" button, and the
campaign form's pickers (template, language code per customer language, parameters).

Imported by campaigns/admin.py (registration happens on import)."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse

from campaigns.models import WhatsAppTemplate
from campaigns.whatsapp_templates import (
    PARAMETER_FIELDS,
    TemplateSyncError,
    whatsapp_templates_sync,
)
from channels.models import ChannelAccount

APPROVED = "APPROVED"
LANGUAGE_SLOTS = {"default": "Any other language", "en": "English", "ru": "Russian",
                  "uk": "Ukrainian"}  # fmt: skip
PARAMETER_SLOTS = 5


@admin.register(WhatsAppTemplate)
class WhatsAppTemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "language", "category", "status", "parameters", "account", "synced_at")
    list_filter = ("status", "category", "language", "account")
    search_fields = ("name", "body")
    change_list_template = "admin/campaigns/whatsapptemplate/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def get_urls(self) -> list:
        view = self.admin_site.admin_view(self.sync_view)
        return [path("sync/", view, name="campaigns_whatsapptemplate_sync"), *super().get_urls()]

    def sync_view(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST" or not self.has_view_permission(request):
            return HttpResponse(status=405 if request.method != "POST" else 403)
        accounts = ChannelAccount.objects.filter(kind="whatsapp", enabled=True)
        if not accounts:
            self.message_user(request, "No WhatsApp account is connected.", messages.WARNING)
        for account in accounts:
            try:
                count = whatsapp_templates_sync(account=account)
                self.message_user(request, f"{account}: {count} templates synced.")
            except TemplateSyncError as exc:
                self.message_user(request, str(exc), messages.ERROR)
        return HttpResponseRedirect(reverse("admin:campaigns_whatsapptemplate_changelist"))


def template_fields(form: forms.ModelForm) -> None:
    """Replace the form's typed WhatsApp fields with lists from the synced templates."""
    approved = WhatsAppTemplate.objects.filter(status=APPROVED)
    names = sorted(set(approved.values_list("name", flat=True)))
    current = form.instance.whatsapp_template
    if current and current not in names:
        names.append(current)
    if "whatsapp_template" in form.fields:
        form.fields["whatsapp_template"] = forms.ChoiceField(
            required=False,
            choices=[("", "— none —"), *((n, n) for n in names)],
            label="Approved template",
            help_text="Sent instead of the message outside WhatsApp's 24-hour window. Sync the "
            "list under WhatsApp templates.",
        )
    codes = sorted(set(approved.values_list("language", flat=True)))
    mapping = form.instance.whatsapp_template_languages or {}
    for slot, label in LANGUAGE_SLOTS.items():
        chosen = mapping.get(slot, "")
        form.fields[f"wa_language_{slot}"] = forms.ChoiceField(
            required=False,
            choices=[("", "—"), *((c, c) for c in sorted({*codes, chosen} - {""}))],
            initial=chosen,
            label=f"Template language for {label}",
        )
    params = list(form.instance.whatsapp_template_params or [])
    choices = [("", "—"), *PARAMETER_FIELDS.items()]
    for number in range(1, PARAMETER_SLOTS + 1):
        value = params[number - 1] if number <= len(params) else ""
        extra = [(value, value)] if value and value not in PARAMETER_FIELDS else []
        form.fields[f"wa_param_{number}"] = forms.ChoiceField(
            required=False, choices=[*choices, *extra], initial=value,
            label=f"Template {{{{{number}}}}}",
        )  # fmt: skip


def template_values_cleaned(form: forms.ModelForm) -> dict[str, Any]:
    """The model values the pickers stand for."""
    data = form.cleaned_data
    values: dict[str, Any] = {}
    if any(f"wa_language_{slot}" in data for slot in LANGUAGE_SLOTS):
        values["whatsapp_template_languages"] = {
            slot: data[f"wa_language_{slot}"]
            for slot in LANGUAGE_SLOTS
            if data.get(f"wa_language_{slot}")
        }
    if "wa_param_1" in data:
        params = [data.get(f"wa_param_{n}") or "" for n in range(1, PARAMETER_SLOTS + 1)]
        while params and not params[-1]:
            params.pop()
        values["whatsapp_template_params"] = params
    return values


PICKER_FIELDS = [
    *(f"wa_language_{slot}" for slot in LANGUAGE_SLOTS),
    *(f"wa_param_{n}" for n in range(1, PARAMETER_SLOTS + 1)),
]
