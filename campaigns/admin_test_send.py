"""Admin for test sends: link your own chat as a test recipient, send a campaign's draft to it.

Imported by campaigns/admin.py (registration happens on import)."""

import json

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse

from campaigns.models import Campaign, TestRecipient, TestSend
from campaigns.test_send import (
    campaign_test_send,
    test_recipient_create,
    test_recipient_link,
    test_recipient_links,
)
from channels.models import ChannelAccount


@admin.register(TestRecipient)
class TestRecipientAdmin(admin.ModelAdmin):
    list_display = ("__str__", "code", "account", "linked_at", "created_by")
    readonly_fields = ("code", "account", "platform_user_id", "name", "linked_at", "created_by")
    fields = readonly_fields

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None):
        """A new code at once: there is nothing to fill in."""
        if not self.has_add_permission(request):
            return HttpResponse(status=403)
        recipient = test_recipient_create(user=request.user)
        return HttpResponseRedirect(
            reverse("admin:campaigns_testrecipient_link", args=[recipient.pk])
        )

    def get_urls(self) -> list:
        view = self.admin_site.admin_view(self.link_view)
        return [
            path("<int:pk>/link/", view, name="campaigns_testrecipient_link"),
            *super().get_urls(),
        ]

    def link_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        recipient = get_object_or_404(TestRecipient, pk=pk)
        if not self.has_view_permission(request, recipient):
            return HttpResponse(status=403)
        linked = test_recipient_link(recipient=recipient)
        if request.method == "POST":
            if linked:
                self.message_user(request, f"Linked: {recipient}. Test sends can go there now.")
            else:
                self.message_user(
                    request, f"No message with {recipient.code} yet.", messages.WARNING
                )
        sandbox = ChannelAccount.objects.filter(kind="sandbox", enabled=True).first()
        context = {
            **self.admin_site.each_context(request),
            "title": "Link your chat as a test recipient",
            "opts": self.model._meta,
            "recipient": recipient,
            "linked": linked,
            "sandbox_url": reverse("channels:sandbox") if sandbox else "",
            "links": [] if linked else test_recipient_links(recipient),
        }
        return TemplateResponse(request, "admin/campaigns/testrecipient/link.html", context)


@admin.register(TestSend)
class TestSendAdmin(admin.ModelAdmin):
    list_display = ("sent_at", "campaign", "recipient", "language", "provider_message_id", "error")
    list_select_related = ("campaign", "recipient__account")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


def test_send_view(model_admin: admin.ModelAdmin, request: HttpRequest, pk: int) -> JsonResponse:
    """POST {"recipient": id, "language": "uk", "content": {...}, "content_uk": {...}}: send
    the form's current draft (unsaved edits included) of a saved campaign to a test chat."""
    campaign = get_object_or_404(Campaign, pk=pk)
    if request.method != "POST":
        return JsonResponse({"detail": "POST the draft"}, status=405)
    if not request.user.has_perm("campaigns.add_testsend"):
        return JsonResponse({"detail": "not allowed"}, status=403)
    try:
        draft = json.loads(request.body or b"{}")
    except ValueError:
        return JsonResponse({"detail": "the body is not JSON"}, status=400)
    if not isinstance(draft, dict):
        return JsonResponse({"detail": "the body must be a JSON object"}, status=400)
    from campaigns.admin import VARIANT_FIELDS  # the form's language fields

    recipient = TestRecipient.objects.filter(
        pk=draft.get("recipient") if str(draft.get("recipient", "")).isdigit() else None,
        account__isnull=False,
    ).first()
    problems = {}
    if recipient is None:
        problems["recipient"] = "pick a linked test recipient"
    for field in ("content", *VARIANT_FIELDS):
        if field in draft and draft[field] is not None and not isinstance(draft[field], dict):
            problems[field] = "must be an object of messages by channel"
    if problems:
        return JsonResponse({"detail": "invalid test send", "fields": problems}, status=400)
    if draft.get("content"):
        campaign.content = draft["content"]
    if any(field in draft for field in VARIANT_FIELDS):
        campaign.content_variants = {
            code: draft[field] for field, code in VARIANT_FIELDS.items() if draft.get(field)
        }
    language = str(draft.get("language") or "")[:20]
    record = campaign_test_send(
        campaign=campaign, recipient=recipient, language=language, user=request.user
    )
    status = 200 if not record.error else 502
    return JsonResponse(
        {"sent": not record.error, "error": record.error, "to": str(recipient)}, status=status
    )
