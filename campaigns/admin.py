"""Marketers build, preview, launch and watch campaigns here; outcomes are read-only."""

import datetime as dt
import json
from collections import Counter
from functools import partial
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from campaigns.admin_test_send import test_send_view
from campaigns.admin_whatsapp import PICKER_FIELDS, template_fields, template_values_cleaned
from campaigns.api.serializers import FIELDS
from campaigns.builder import LANGUAGES, validate_content
from campaigns.customer_page import customer_overview
from campaigns.holdout import GLOBAL_HOLDOUT
from campaigns.home import install as install_home
from campaigns.lifecycle import (
    LOCKED_FIELDS,
    LifecycleRefused,
    campaign_archive,
    campaign_delete_refusal,
    campaign_duplicate,
    campaign_is_locked,
    campaign_version_keep,
    campaign_versions,
)
from campaigns.models import (
    Attribution,
    Campaign,
    Delivery,
    LinkClick,
    Reorder,
    SurveyAnswer,
    TestRecipient,
)
from campaigns.phrases import reason_phrase
from campaigns.preview import SAMPLE_LANGUAGES, campaign_previews, recent_orders, sample_order
from campaigns.progress import campaign_progress, next_occurrence, with_progress
from campaigns.reach import (
    ALREADY,
    CAPPED,
    DEFERRED,
    HELD_OUT,
    LABELS,
    NO_CONSENT,
    SEND,
    WINDOW,
    campaign_launch_with_reach,
    campaign_reach,
)
from campaigns.resend_admin import resend_unknown
from campaigns.services import (
    TransitionRefused,
    campaign_errors,
    campaign_pause,
)
from campaigns.starters import STARTERS
from campaigns.stats_admin import campaign_stats_view, programme_view
from campaigns.stats_snapshot import campaign_stats_snapshot
from campaigns.triggers import TRIGGER_EVENTS, WINBACK
from campaigns.widgets import (
    DAYS,
    TIMES,
    DurationField,
    MessageBuilderWidget,
    OrderedChoicesField,
)
from channels.providers import KIND_CHOICES
from subscriptions.models import TOPICS, Customer

LANGUAGE_ORDER = (
    "A customer gets the message in their language: their locale (uk-UA), then its base "
    "language (uk), then the default message. Within a language, a channel's own message wins "
    "over that language's “every channel” one."
)
CAP_NOTE = (
    f"Frequency cap: across all campaigns, a customer gets at most "
    f"{settings.MARKETING_CAP_COUNT} marketing messages in {settings.MARKETING_CAP_DAYS} days; "
    "more are skipped, never queued. Service messages and surveys do not count."
)
LIST_FIELDS = ("skus", "languages", "whatsapp_template_params", "whatsapp_template_buttons")


TRIGGER_LABELS = {
    "order.created": "Order placed",
    "order.paid": "Order paid",
    "order.delivered": "Order delivered",
    "order.cancelled": "Order cancelled",
    WINBACK: "No new order since the last delivery (win-back)",
}
EVENTS = TRIGGER_EVENTS
EXAMPLE_LOCALES = {"ru": "ru-RU", "uk": "uk-UA", "en": "en-GB"}
VARIANT_FIELDS = {f"content_{code}": code for code in LANGUAGES}


def _language_field(code: str) -> forms.JSONField:
    return forms.JSONField(
        required=False,
        label=f"{LANGUAGES[code]} ({code})",
        widget=MessageBuilderWidget(),
        help_text=f"For customers whose language is {code} (e.g. {EXAMPLE_LOCALES[code]}); "
        "empty: they get the default message above.",
    )


class CampaignForm(forms.ModelForm):
    content = forms.JSONField(
        label="Message",
        widget=MessageBuilderWidget(),
        help_text="The default message: for customers whose language has no message of its own "
        "below. Placeholders: {name} {order} {items} {link} (the tracked campaign page) "
        "{delivery}.",
    )
    # WhatsApp pickers: choices come from the synced templates (campaigns/admin_whatsapp.py).
    wa_language_default = forms.ChoiceField(required=False)
    wa_language_en = forms.ChoiceField(required=False)
    wa_language_ru = forms.ChoiceField(required=False)
    wa_language_uk = forms.ChoiceField(required=False)
    wa_param_1 = forms.ChoiceField(required=False)
    wa_param_2 = forms.ChoiceField(required=False)
    wa_param_3 = forms.ChoiceField(required=False)
    wa_param_4 = forms.ChoiceField(required=False)
    wa_param_5 = forms.ChoiceField(required=False)
    content_ru = _language_field("ru")
    content_uk = _language_field("uk")
    content_en = _language_field("en")
    trigger_event = forms.ChoiceField(
        required=False,
        choices=[
            ("", "— not triggered —"),
            *((e, TRIGGER_LABELS.get(e, e)) for e in TRIGGER_EVENTS),
        ],
        help_text="What starts the message for a customer (triggered campaigns).",
    )
    trigger_delay = DurationField(
        required=False,
        label="Delay",
        help_text="How long after the event the message goes, e.g. 3 hours after delivery for a "
        "survey. 0: at once.",
    )
    weekday = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "—"), *DAYS],
        help_text="Recurring: the day of the week it goes out.",
    )
    local_time = forms.TypedChoiceField(
        required=False,
        coerce=dt.time.fromisoformat,
        empty_value=None,
        choices=[("", "—"), *((f"{v}:00", label) for v, label in TIMES)],
        help_text="Recurring: the time it goes out in each customer's own time zone.",
    )
    link_url = forms.URLField(
        required=False,
        assume_scheme="https",
        help_text=Campaign._meta.get_field("link_url").help_text,
    )
    fallback_channels = OrderedChoicesField(
        choices=KIND_CHOICES,
        required=False,
        label="Then try",
        help_text="If the message is not delivered or not read in time, it goes again on the "
        "customer's next channel in this order (one they are subscribed to; e-mail and SMS only "
        "with their opt-in). It never goes when they read, clicked, answered, unsubscribed or "
        "ordered meanwhile.",
    )
    fallback_not_delivered_after = DurationField(
        required=False,
        label="If not delivered within",
        help_text="Counted from when it was due. 0: no such rule.",
    )
    fallback_not_read_after = DurationField(
        required=False,
        label="If not read within",
        help_text="Counted from when it was sent. Where a platform sends no read receipts "
        "(Telegram, SMS): not clicked, answered or replied to. 0: no such rule.",
    )
    subscribed_topics = forms.MultipleChoiceField(
        choices=list(TOPICS.items()),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=Campaign._meta.get_field("subscribed_topics").help_text,
    )

    class Meta:
        model = Campaign
        fields = FIELDS  # every editable field but status (launch/pause set it)
        help_texts = {
            "holdout_percent": "Share of the audience kept back on purpose: they get nothing, "
            "so their repeat orders show what the campaign really adds. 10 = one customer in ten.",
            "respect_quiet_hours": "Never send at night: a message due in the quiet hours "
            "waits until they end, in the customer's own time zone.",
            "quiet_hours_start": "Quiet from this local time…",
            "quiet_hours_end": "…until this local time (the next morning if earlier).",
            "trigger_conditions": 'Triggered: {"skus": [...], "min_total": 20}. Recurring: '
            "customers who ordered since the previous occurrence are skipped (already ordered "
            'for the coming week); {"exclude_ordered_since_days": 3} sets the window in days, '
            '{"skip_already_ordered": false} turns it off.',
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "whatsapp_template" in self.fields:
            template_fields(self)
        variants = self.instance.content_variants or {}
        for field, code in VARIANT_FIELDS.items():
            if field in self.fields:
                self.fields[field].initial = variants.get(code) or None

    def clean_content(self) -> dict:
        content = self.cleaned_data.get("content") or {}
        validate_content(content)
        return content

    def _clean_variant(self, field: str) -> dict:
        content = self.cleaned_data.get(field) or {}
        validate_content(content)
        return content

    def clean_content_ru(self) -> dict:
        return self._clean_variant("content_ru")

    def clean_content_uk(self) -> dict:
        return self._clean_variant("content_uk")

    def clean_content_en(self) -> dict:
        return self._clean_variant("content_en")

    def save(self, commit: bool = True) -> Campaign:
        campaign = super().save(commit=False)
        for name, value in template_values_cleaned(self).items():
            setattr(campaign, name, value)
        if any(field in self.fields for field in VARIANT_FIELDS):
            campaign.content_variants = {
                code: self.cleaned_data[field]
                for field, code in VARIANT_FIELDS.items()
                if self.cleaned_data.get(field)
            }
        if commit:
            campaign.save()
            self.save_m2m()
        return campaign

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        if cleaned.get("trigger_delay") is None and "trigger_delay" in self.fields:
            cleaned["trigger_delay"] = dt.timedelta()
        for name in LIST_FIELDS:  # a list left blank is the empty list, not JSON null
            if name in cleaned and cleaned[name] is None:
                cleaned[name] = []
        if "fallback_channels" in cleaned and cleaned["fallback_channels"] is None:
            cleaned["fallback_channels"] = []
        for name in ("fallback_not_delivered_after", "fallback_not_read_after"):
            if not cleaned.get(name):  # the duration picker says 0 for left blank
                cleaned[name] = None
        fields = {k: v for k, v in cleaned.items() if k != "accounts" and k in self._model_fields}
        for field, message in campaign_errors(Campaign(**fields)).items():
            if field in self.fields and field not in self.errors:
                self.add_error(field, message)
        return cleaned

    @property
    def _model_fields(self) -> set[str]:
        return {f.name for f in Campaign._meta.get_fields()}


class ArchivedFilter(admin.SimpleListFilter):
    """The working list hides archived campaigns unless asked for them."""

    title = "archive"
    parameter_name = "archived"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [("yes", "Archived"), ("all", "All")]

    def choices(self, changelist):
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": "Not archived",
        }
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(archived_at__isnull=False)
        if self.value() == "all":
            return queryset
        return queryset.filter(archived_at__isnull=True)


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    form = CampaignForm
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ("name", "kind", "category", "status", "progress_bar", "next_run")
    list_filter = (ArchivedFilter, "kind", "status", "category")
    search_fields = ("name",)
    filter_horizontal = ("accounts",)
    readonly_fields = (
        "status", "launched_at", "archived_at", "preview_link", "reach_panel", "stats",
        "live_progress", "version_history",
    )  # fmt: skip
    # The lead's "resend unknown" action joins this list.
    actions = ["launch", "pause", "duplicate", "archive", "delete_selected"]
    fieldsets = [
        (None, {"fields": ["name", "kind", "category", "topic", "status", "live_progress",
                           "launched_at", "archived_at"]}),
        ("Message", {"fields": ["content", "content_ru", "content_uk", "content_en",
                                "link_url", "preview_link", "version_history"],
                     "description": LANGUAGE_ORDER}),
        ("WhatsApp template (outside its 24-hour window)", {
            "fields": ["whatsapp_template", *PICKER_FIELDS, "whatsapp_template_buttons"],
            "classes": ["collapse"]}),
        ("Audience", {"fields": ["accounts", "skus", "languages", "subscribed_topics",
                                 "min_days_since_last_order",
                                 "max_days_since_last_order", "min_survey_score",
                                 "max_survey_score"]}),
        ("Schedule", {"fields": ["send_at", "weekday", "local_time"]}),
        ("Trigger", {"fields": ["trigger_event", "trigger_delay", "trigger_conditions"]}),
        ("Fallback to another channel", {"fields": [
            "fallback_not_delivered_after", "fallback_not_read_after", "fallback_channels"]}),
        ("Policies", {"fields": ["holdout_percent", "respect_quiet_hours", "quiet_hours_start",
                                 "quiet_hours_end"],
                      "description": CAP_NOTE}),
        ("Who will get this", {"fields": ["reach_panel"]}),
        ("Stats", {"fields": ["stats"]}),
    ]  # fmt: skip

    @admin.action(description="Launch selected campaigns")
    def launch(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        for campaign in queryset:
            try:
                _, created = campaign_launch_with_reach(campaign_id=campaign.pk)
                self.message_user(request, f"{campaign}: launched, {created} deliveries written.")
            except TransitionRefused as exc:
                self.message_user(request, f"{campaign}: {exc}", messages.WARNING)

    @admin.action(description="Pause selected campaigns")
    def pause(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        for campaign in queryset:
            try:
                campaign_pause(campaign_id=campaign.pk)
                self.message_user(request, f"{campaign}: paused.")
            except TransitionRefused as exc:
                self.message_user(request, f"{campaign}: {exc}", messages.WARNING)

    @admin.action(description="Duplicate selected campaigns (editable drafts)")
    def duplicate(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        for campaign in queryset:
            copy = campaign_duplicate(campaign_id=campaign.pk)
            self.message_user(request, f"{campaign}: copied as draft “{copy}”.")

    @admin.action(description="Archive selected campaigns")
    def archive(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        for campaign in queryset:
            try:
                campaign_archive(campaign_id=campaign.pk)
                self.message_user(request, f"{campaign}: archived.")
            except LifecycleRefused as exc:
                self.message_user(request, str(exc), messages.WARNING)

    @admin.action(
        description="Delete selected campaigns (only those never sent)", permissions=["delete"]
    )
    def delete_selected(self, request: HttpRequest, queryset: QuerySet[Campaign]):
        """Django's delete, for campaigns without deliveries; the others are refused by name."""
        refused = [c for c in queryset if campaign_delete_refusal(c)]
        for campaign in refused:
            self.message_user(request, campaign_delete_refusal(campaign), messages.ERROR)
        deletable = queryset.exclude(pk__in=[c.pk for c in refused])
        if not deletable.exists():
            return None
        return delete_selected(self, request, deletable)

    class Media:
        js = ("campaigns/preview.js", "campaigns/progress.js")
        css = {"all": ("campaigns/preview.css",)}

    def render_change_form(
        self, request: HttpRequest, context: dict, add: bool = False, change: bool = False,
        form_url: str = "", obj: Campaign | None = None,
    ) -> HttpResponse:  # fmt: skip
        context["live_preview"] = True
        context["test_recipients"] = TestRecipient.objects.filter(account__isnull=False)
        context["preview_orders"] = recent_orders()
        context["preview_languages"] = [("", "The customer's own"), *LANGUAGES.items()]
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict:
        starter = STARTERS.get(request.GET.get("template", ""))
        if starter is None:
            return super().get_changeform_initial_data(request)
        return dict(starter["fields"])

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        starters = [(key, s["label"]) for key, s in STARTERS.items()]
        return super().changelist_view(request, {**(extra_context or {}), "starters": starters})

    def save_model(self, request: HttpRequest, obj: Campaign, form, change: bool) -> None:
        before = Campaign.objects.get(pk=obj.pk) if change else None
        super().save_model(request, obj, form, change)
        if before is not None and campaign_version_keep(
            before=before, after=obj, user=request.user
        ):
            self.message_user(request, "Saved as a new version; the earlier one is in history.")

    @admin.display(description="Versions")
    def version_history(self, obj: Campaign) -> SafeString | str:
        versions = campaign_versions(obj) if obj.pk else []
        if not versions:
            return "One version so far."
        return SafeString(
            render_to_string("admin/campaigns/campaign/versions.html", {"versions": versions})
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Campaign | None = None) -> tuple:
        if obj is not None and campaign_is_locked(obj):
            return (*self.readonly_fields, *LOCKED_FIELDS)
        return self.readonly_fields

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict | None = None
    ) -> HttpResponse:
        campaign = self.get_object(request, object_id)
        refusal = campaign_delete_refusal(campaign) if campaign else ""
        if refusal:
            self.message_user(request, refusal, messages.ERROR)
            return HttpResponseRedirect(
                reverse("admin:campaigns_campaign_change", args=[campaign.pk])
            )
        return super().delete_view(request, object_id, extra_context)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None
    ) -> HttpResponse:
        campaign = self.get_object(request, object_id)
        context = {**(extra_context or {})}
        if campaign is not None:
            context["campaign_locked"] = campaign_is_locked(campaign)
            context["delete_refusal"] = campaign_delete_refusal(campaign)
            context["archivable"] = campaign.archived_at is None
        return super().change_view(request, object_id, form_url, context)

    def duplicate_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        campaign = get_object_or_404(Campaign, pk=pk)
        if request.method != "POST" or not self.has_add_permission(request):
            return HttpResponse(status=403 if request.method == "POST" else 405)
        copy = campaign_duplicate(campaign_id=campaign.pk)
        self.message_user(request, f"Copied “{campaign}” as an editable draft.")
        return HttpResponseRedirect(reverse("admin:campaigns_campaign_change", args=[copy.pk]))

    def archive_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        campaign = get_object_or_404(Campaign, pk=pk)
        if request.method != "POST" or not self.has_change_permission(request, campaign):
            return HttpResponse(status=403 if request.method == "POST" else 405)
        try:
            campaign_archive(campaign_id=campaign.pk)
            self.message_user(request, f"Archived “{campaign}”; its deliveries are kept.")
        except LifecycleRefused as exc:
            self.message_user(request, str(exc), messages.WARNING)
        return HttpResponseRedirect(reverse("admin:campaigns_campaign_change", args=[pk]))

    @admin.display(description="Preview")
    def preview_link(self, obj: Campaign) -> str:
        if not obj.pk:
            return "Save first to preview."
        url = reverse("admin:campaigns_campaign_preview", args=[obj.pk])
        return format_html('<a href="{}">Preview on every channel</a>', url)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Campaign]:
        campaigns = super().get_queryset(request)
        match = request.resolver_match
        if match is not None and match.url_name == "campaigns_campaign_changelist":
            return with_progress(campaigns)  # one grouped query for the page's bars
        return campaigns

    @admin.display(description="Progress")
    def progress_bar(self, obj: Campaign) -> SafeString:
        return SafeString(
            render_to_string(
                "admin/campaigns/campaign/progress.html", {"p": campaign_progress(obj)}
            )
        )

    @admin.display(description="Next")
    def next_run(self, obj: Campaign) -> str:
        moment = next_occurrence(obj)
        if isinstance(moment, dt.datetime):
            return f"{moment:%Y-%m-%d %H:%M} UTC"
        return moment or "—"

    @admin.display(description="Progress (live)")
    def live_progress(self, obj: Campaign) -> SafeString | str:
        if not obj.pk:
            return "—"
        url = reverse("admin:campaigns_campaign_progress", args=[obj.pk])
        bar = render_to_string(
            "admin/campaigns/campaign/progress.html", {"p": campaign_progress(obj), "live": url}
        )
        links = format_html(
            ' <a href="{}">Full stats</a> · <a href="{}">Programme dashboard</a>',
            reverse("admin:campaigns_campaign_stats", args=[obj.pk]),
            reverse("admin:campaigns_campaign_programme"),
        )
        return SafeString(bar + links)

    def progress_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Live counts for the campaign page, polled every few seconds."""
        campaign = get_object_or_404(Campaign, pk=pk)
        if not self.has_view_permission(request, campaign):
            return JsonResponse({"detail": "not allowed"}, status=403)
        return JsonResponse(campaign_progress(campaign))

    @admin.display(description="Who will get this")
    def reach_panel(self, obj: Campaign) -> SafeString | str:
        """Before launch: the audience as the dispatcher would decide it now. After: what was
        expected at launch beside what happened."""
        if not obj.pk:
            return "Save first to see who will get it."
        if obj.launched_at and obj.expected_reach:
            reach = obj.expected_reach
            heading = f"Expected at launch ({obj.launched_at:%Y-%m-%d %H:%M} UTC):"
            happened = [
                (LABELS.get(_reach_outcome(state, reason), reason or state), n)
                for (state, reason), n in Counter(
                    obj.deliveries.values_list("state", "reason")
                ).most_common()
            ]
        else:
            reach, heading, happened = campaign_reach(obj), "", []
        channels = reach["channels"]
        rows = [
            (key, label, [c[key] for c in channels], reach["totals"].get(key, 0))
            for key, label in LABELS.items()
        ]
        context = {
            "channels": channels,
            "rows": rows,
            "totals": reach["totals"],
            "expected": bool(heading),
            "heading": heading,
            "happened": happened,
        }
        return SafeString(render_to_string("admin/campaigns/campaign/reach.html", context))

    @admin.display(description="Stats")
    def stats(self, obj: Campaign) -> SafeString | str:
        if not obj.pk:
            return "—"
        figures = campaign_stats_snapshot(obj)
        figures["by_reason"] = _phrased(figures.get("by_reason", {}))
        for counts in figures.get("per_channel", {}).values():
            counts["by_reason"] = _phrased(counts.get("by_reason", {}))
        return SafeString(render_to_string("admin/campaigns/campaign/stats.html", figures))

    def get_urls(self) -> list:
        preview = self.admin_site.admin_view(self.preview_view)
        own = [
            path("<int:pk>/preview/", preview, name="campaigns_campaign_preview"),
            path(
                "<int:pk>/stats/",
                self.admin_site.admin_view(partial(campaign_stats_view, self)),
                name="campaigns_campaign_stats",
            ),
            path(
                "programme/",
                self.admin_site.admin_view(partial(programme_view, self)),
                name="campaigns_campaign_programme",
            ),
            path(
                "<int:pk>/test-send/",
                self.admin_site.admin_view(self.test_send_view),
                name="campaigns_campaign_test_send",
            ),
            path(
                "<int:pk>/progress/",
                self.admin_site.admin_view(self.progress_view),
                name="campaigns_campaign_progress",
            ),
            path(
                "preview/live/",
                self.admin_site.admin_view(self.live_preview_view),
                name="campaigns_campaign_live_preview",
            ),
            path(
                "<int:pk>/duplicate/",
                self.admin_site.admin_view(self.duplicate_view),
                name="campaigns_campaign_duplicate",
            ),
            path(
                "<int:pk>/archive/",
                self.admin_site.admin_view(self.archive_view),
                name="campaigns_campaign_archive",
            ),
        ]
        return own + super().get_urls()

    def preview_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        campaign = get_object_or_404(Campaign, pk=pk)
        if not self.has_view_permission(request, campaign):
            return HttpResponse(status=403)
        language = request.GET.get("language", "")
        language = language if language in SAMPLE_LANGUAGES else ""
        order = sample_order(_int(request.GET.get("order")))
        previews = campaign_previews(campaign, language=language, order=order)
        for entry in previews:
            entry["body_json"] = json.dumps(entry.get("body"), indent=2, ensure_ascii=False)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Preview: {campaign}",
            "campaign": campaign,
            "opts": self.model._meta,
            "previews": previews,
            "order": order,
            "orders": recent_orders(),
            "language": language,
            "languages": [("", "The customer's own"), *LANGUAGES.items()],
        }
        return TemplateResponse(request, "admin/campaigns/campaign/preview.html", context)

    def test_send_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        return test_send_view(self, request, pk)

    def live_preview_view(self, request: HttpRequest) -> HttpResponse:
        """The form's draft as each messenger would show it; the builder posts here as the
        marketer types (campaigns/static/campaigns/preview.js)."""
        if not self.has_view_permission(request):
            return JsonResponse({"detail": "not allowed"}, status=403)
        if request.method != "POST":
            return JsonResponse({"detail": "POST the draft"}, status=405)
        try:
            draft = json.loads(request.body or b"{}")
        except ValueError:
            return JsonResponse({"detail": "the body is not JSON"}, status=400)
        if not isinstance(draft, dict):
            return JsonResponse({"detail": "the body must be a JSON object"}, status=400)
        problems = {}
        for field in ("content", *VARIANT_FIELDS):
            value = draft.get(field) or {}
            if not isinstance(value, dict):
                problems[field] = "must be an object of messages by channel"
        category = draft.get("category") or Campaign.Category.MARKETING
        if category not in Campaign.Category.values:
            problems["category"] = f"one of {', '.join(Campaign.Category.values)}"
        language = draft.get("language") or ""
        if language not in SAMPLE_LANGUAGES:
            problems["language"] = f"one of {', '.join(filter(None, SAMPLE_LANGUAGES))} or empty"
        if problems:
            return JsonResponse({"detail": "invalid draft", "fields": problems}, status=400)
        campaign = Campaign(
            name="draft",
            category=category,
            content=draft.get("content") or {},
            content_variants={
                code: draft[field] for field, code in VARIANT_FIELDS.items() if draft.get(field)
            },
            link_url=str(draft.get("link_url") or ""),
        )
        order = sample_order(_int(draft.get("order")))
        return JsonResponse(
            {
                "customer": str(order.customer),
                "order": order.external_id,
                "previews": campaign_previews(campaign, language=language, order=order),
            },
            json_dumps_params={"ensure_ascii": False},
        )


def _phrased(by_reason: dict[str, int]) -> dict[str, int]:
    phrased: dict[str, int] = {}
    for reason, count in by_reason.items():
        phrase = reason_phrase(reason)
        phrased[phrase] = phrased.get(phrase, 0) + count
    return phrased


def _reach_outcome(state: str, reason: str) -> str:
    """The reach panel's outcome for a recorded delivery (sent, deferred or a skip reason)."""
    if state in ("sent", "deferred"):
        return SEND if state == "sent" else DEFERRED
    known = {"holdout": HELD_OUT, GLOBAL_HOLDOUT: HELD_OUT, "frequency cap": CAPPED,
             "already_ordered": ALREADY}  # fmt: skip
    if reason in known:
        return known[reason]
    if "not consented" in reason:
        return NO_CONSENT
    if "window closed" in reason:
        return WINDOW
    return ""


def _int(value: object) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("id", "campaign", "account", "customer", "occurrence", "state",
                    "why", "due_at", "sent_at", "read_at", "clicked_at",
                    "answered_at")  # fmt: skip
    list_filter = ("state", "reason", "account", "campaign")
    list_select_related = ("campaign", "account", "subscription__customer")
    search_fields = ("=provider_message_id", "=occurrence")
    show_full_result_count = False  # a million rows: no second COUNT(*) on every page
    date_hierarchy = None
    actions = [resend_unknown]

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("campaigns.resend_delivery")

    @admin.display(description="Customer", ordering="subscription__customer__name")
    def customer(self, obj: Delivery) -> str:
        customer = obj.subscription.customer
        url = reverse("admin:campaigns_customer_overview", args=[customer.pk])
        name = customer.name or customer.external_id or f"customer {customer.pk}"
        return format_html('<a href="{}">{}</a>', url, name)

    def get_urls(self) -> list:
        view = self.admin_site.admin_view(self.customer_view)
        own = [path("customer/<int:pk>/", view, name="campaigns_customer_overview")]
        return own + super().get_urls()

    def customer_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The customer's chats, consent, deliveries, answers, clicks and attributed orders."""
        customer = get_object_or_404(Customer, pk=pk)
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Customer: {customer}",
            "opts": self.model._meta,
            **customer_overview(customer),
        }
        return TemplateResponse(request, "admin/campaigns/customer_overview.html", context)

    @admin.display(description="Why", ordering="reason")
    def why(self, obj: Delivery) -> str:
        return reason_phrase(obj.reason) or "—"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class LowScoreFilter(admin.SimpleListFilter):
    title = "low scores"
    parameter_name = "low"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [("yes", f"Low scores (≤ {settings.SURVEY_LOW_SCORE})")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(score__lte=settings.SURVEY_LOW_SCORE)
        return queryset


class ReadOnlyAdmin(admin.ModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(SurveyAnswer)
class SurveyAnswerAdmin(ReadOnlyAdmin):
    list_display = ("answered_at", "score", "comment", "customer", "order", "items", "alerted_at")
    list_filter = (LowScoreFilter, "score")
    list_select_related = ("delivery__subscription__customer", "order")
    search_fields = ("comment", "order__external_id")

    @admin.display(description="Customer")
    def customer(self, obj: SurveyAnswer) -> str:
        return str(obj.delivery.subscription.customer)


@admin.register(LinkClick)
class LinkClickAdmin(ReadOnlyAdmin):
    list_display = ("clicked_at", "delivery_id", "url")


@admin.register(Attribution)
class AttributionAdmin(ReadOnlyAdmin):
    list_display = ("attributed_at", "order", "delivery_id", "via")
    list_select_related = ("order",)


install_home(admin.site)  # the marketer's home page and sections (campaigns/home.py)


@admin.register(Reorder)
class ReorderAdmin(ReadOnlyAdmin):
    """Reorders asked for in the chat; the shop decides them through the API."""

    list_display = (
        "requested_at", "kind", "state", "customer", "last_order", "new_order", "decided_at",
    )  # fmt: skip
    list_filter = ("state", "kind")
    list_select_related = ("subscription__customer", "last_order")
    search_fields = ("=public_id", "order_external_id", "last_order__external_id")

    @admin.display(description="Customer")
    def customer(self, obj: Reorder) -> str:
        return str(obj.subscription.customer)

    @admin.display(description="New order", ordering="order_external_id")
    def new_order(self, obj: Reorder) -> str:
        return obj.order_external_id or "—"
