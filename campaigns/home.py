"""The admin home for a marketer: what is running, today's sends per channel, the health of
every channel account; and the admin's sections grouped by what a marketer does, technical
models under "System"."""

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.db.models import Count, Max
from django.http import HttpRequest
from django.utils import timezone

from campaigns.models import Campaign, Delivery
from campaigns.progress import campaign_progress, with_progress
from channels.models import ChannelAccount, InboundEvent

# Section -> models (app_label.model_name), in the order a marketer meets them.
SECTIONS = {
    "Campaigns": ["campaigns.campaign", "campaigns.whatsapptemplate", "campaigns.testrecipient",
                  "campaigns.testsend"],
    "Results": ["campaigns.delivery", "campaigns.surveyanswer", "campaigns.linkclick",
                "campaigns.attribution"],
    "Customers": ["subscriptions.customer", "subscriptions.order", "subscriptions.subscription",
                  "subscriptions.consentevent", "subscriptions.erasurelog"],
    "Channels": ["channels.channelaccount", "channels.sandboxmessage"],
}  # fmt: skip
SYSTEM = "System"  # inbound events, heartbeats, API keys, users, login throttling, ...


def home_figures(now: dt.datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    running = with_progress(
        Campaign.objects.filter(
            status__in=(Campaign.Status.RUNNING, Campaign.Status.SCHEDULED),
            archived_at__isnull=True,
        ).order_by("-launched_at")
    )[:20]
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    sends = (
        Delivery.objects.filter(state=Delivery.State.SENT, sent_at__gte=today)
        .values("account__kind")
        .annotate(n=Count("pk"))
        .order_by("account__kind")
    )
    last_webhook = dict(
        InboundEvent.objects.values("account")
        .annotate(last=Max("received_at"))
        .values_list("account", "last")
    )
    accounts = [
        {
            "account": account,
            "paused": account.paused_until is not None and account.paused_until > now,
            "last_webhook": last_webhook.get(account.pk),
        }
        for account in ChannelAccount.objects.order_by("kind", "name")
    ]
    return {
        "running": [(c, campaign_progress(c)) for c in running],
        "sends_today": [(row["account__kind"], row["n"]) for row in sends],
        "accounts": accounts,
    }


def grouped_app_list(original: Callable) -> Callable:
    """Wrap AdminSite.get_app_list: on the home page and the sidebar, sections by task."""

    def get_app_list(request: HttpRequest, app_label: str | None = None) -> list[dict]:
        apps = original(request, app_label)
        if app_label is not None:
            return apps
        models = {
            f"{app['app_label']}.{model['object_name'].lower()}": model
            for app in apps
            for model in app["models"]
        }
        grouped = []
        for title, keys in SECTIONS.items():
            found = [models.pop(key) for key in keys if key in models]
            if found:
                grouped.append(_section(title, found))
        if models:
            grouped.append(_section(SYSTEM, sorted(models.values(), key=lambda m: m["name"])))
        return grouped

    return get_app_list


def _section(title: str, models: list[dict]) -> dict:
    return {
        "name": title,
        "app_label": title.lower(),
        "app_url": "",
        "has_module_perms": True,
        "models": models,
    }


def install(site: admin.AdminSite) -> None:
    site.get_app_list = grouped_app_list(site.get_app_list)  # type: ignore[method-assign]
    site.index_template = "admin/campaigns/home.html"
