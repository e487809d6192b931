"""The hosted subscribe page (/s/<token>/) and its one-line embed (/s/embed.js)."""

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

import segno
from csp.decorators import csp_replace
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_safe

from channels.models import ChannelAccount
from subscriptions.links import enabled_accounts
from subscriptions.models import Order
from subscriptions.pages.strings import STRINGS, page_language
from subscriptions.tokens import TokenInvalid, order_token_read, token_prefix

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Channel:
    kind: str
    platform: str
    button: str
    link: str
    qr: SafeString


@require_safe
@xframe_options_exempt  # this page, and only it, is meant to be framed by the shop's checkout
@csp_replace({"frame-ancestors": ["*"]})  # by any shop's page (the embed script)
def subscribe_page(request: HttpRequest, token: str) -> HttpResponse:
    embed = request.GET.get("embed") == "1"
    try:
        order = Order.objects.select_related("customer").get(pk=order_token_read(token))
    except (TokenInvalid, Order.DoesNotExist) as exc:
        reason = getattr(exc, "reason", "unknown_order")
        log.info("subscribe page refused token %s…: %s", token_prefix(token), reason)
        return _refused(request, expired=reason == "expired", embed=embed)
    language = page_language(request, customer_locale=order.customer.locale)
    strings = STRINGS[language]
    # The links carry the token the customer arrived with (not a fresh one), so viewing the
    # page never extends a link's life beyond TOKEN_MAX_AGE_DAYS.
    channels = [_channel(account, token, strings) for account in enabled_accounts()]
    context = {
        "language": language,
        "t": strings,
        "lead": strings["lead"].format(order=order.external_id),
        "channels": channels,
        "embed": embed,
        "shop_url": _shop_url(),
    }
    return _page(request, "subscriptions/subscribe.html", context, status=200)


def _refused(request: HttpRequest, *, expired: bool, embed: bool) -> HttpResponse:
    language = page_language(request)
    context = {
        "language": language,
        "t": STRINGS[language],
        "expired": expired,
        "embed": embed,
        "shop_url": _shop_url(),
    }
    return _page(request, "subscriptions/refused.html", context, status=410 if expired else 404)


def _page(request: HttpRequest, template: str, context: dict, *, status: int) -> HttpResponse:
    response = render(request, template, context, status=status)
    response["Content-Language"] = context["language"]
    # The URL carries a bearer token: keep it out of Referer headers, caches and search indexes.
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    patch_cache_control(response, private=True, no_store=True)
    return response


def _channel(account: ChannelAccount, token: str, strings: dict[str, str]) -> Channel:
    provider = account.provider()
    link = provider.deep_link(token)
    svg = segno.make(link, error="m").svg_inline(
        scale=4, border=2, title=provider.label, omitsize=True
    )
    # segno escapes the title and the rest is its own path data.
    return Channel(
        kind=account.kind,
        platform=provider.label,
        button=strings["open"].format(platform=provider.label),
        link=link,
        qr=mark_safe(svg),  # noqa: S308
    )


def _shop_url() -> str:
    return getattr(settings, "SHOP_URL", "") or "/"


@require_safe
def embed_js(request: HttpRequest) -> HttpResponse:
    """A script that puts the subscribe page, framed, right after its own <script> tag."""
    base = urlsplit(settings.PUBLIC_BASE_URL)
    page = reverse("subscriptions:subscribe-page", kwargs={"token": "TOKEN"})
    context = {"origin": f"{base.scheme}://{base.netloc}", "page": settings.PUBLIC_BASE_URL + page}
    response = render(
        request, "subscriptions/embed.js", context, content_type="text/javascript; charset=utf-8"
    )
    patch_cache_control(response, public=True, max_age=300)
    return response
