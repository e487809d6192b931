"""The subscribe pages (/s/<token>/, /s/l/<signed link>/), the counted redirect on to a
messenger (/s/go/<visit token>/<account>/) and the one-line embed (/s/embed.js).

Each page view is a LinkVisit with its source, device and UTM tags; the page's buttons and QR
codes go through the redirect with a visit token, which is what the messenger's Start carries.
"""

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

import segno
from csp.decorators import csp_replace
from django.conf import settings
from django.db.models import F
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_safe

from channels.models import ChannelAccount
from subscriptions import sources
from subscriptions.links import Link, enabled_accounts, signed_link_read
from subscriptions.models import LinkVisit, Order
from subscriptions.pages.strings import STRINGS, page_language
from subscriptions.tokens import (
    VISIT_VERSION,
    TokenInvalid,
    link_token_claims,
    order_token_claims,
    token_prefix,
    visit_token_issue,
)

log = logging.getLogger(__name__)


class MessengerRedirect(HttpResponseRedirect):
    # Viber's deep link is viber://pa?... (PLATFORMS.md); the rest are https.
    allowed_schemes = ["https", "http", "viber"]


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
    """An order's page: the embed (?embed=1) or the hosted page, bound to the order token."""
    embed = request.GET.get("embed") == "1"
    try:
        claims = order_token_claims(token)
        order = Order.objects.select_related("customer").get(pk=claims.order_pk)
    except (TokenInvalid, Order.DoesNotExist) as exc:
        reason = getattr(exc, "reason", "unknown_order")
        log.info("subscribe page refused token %s…: %s", token_prefix(token), reason)
        return _refused(request, expired=reason == "expired", embed=embed)
    source = sources.CHECKOUT_EMBED if embed else sources.HOSTED_PAGE
    link = Link(source, claims.issued_at, order=order, customer=order.customer)
    return _link_page(request, link, fallback_token=token, embed=embed)


@require_safe
def link_page(request: HttpRequest, code: str) -> HttpResponse:
    """A signed link's page: an order e-mail, a known customer's or a campaign's link."""
    try:
        link = signed_link_read(code)
    except TokenInvalid as exc:
        log.info("subscribe link refused: %s", exc.reason)
        return _refused(request, expired=exc.reason == "expired", embed=False)
    return _link_page(request, link, fallback_token="", embed=False)


@require_safe
def order_redirect(request: HttpRequest, token: str, account: int) -> HttpResponse:
    """An order's link straight to one messenger, counted on the way (no page)."""
    try:
        claims = order_token_claims(token)
        order = Order.objects.select_related("customer").get(pk=claims.order_pk)
    except (TokenInvalid, Order.DoesNotExist) as exc:
        return _refused(request, expired=getattr(exc, "reason", "") == "expired", embed=False)
    link = Link(sources.DEEP_LINK, claims.issued_at, order=order, customer=order.customer)
    return _straight_on(request, link, account)


@require_safe
def link_redirect(request: HttpRequest, code: str, account: int) -> HttpResponse:
    """A signed link straight to one messenger (an ad's button), counted on the way."""
    try:
        link = signed_link_read(code)
    except TokenInvalid as exc:
        return _refused(request, expired=exc.reason == "expired", embed=False)
    return _straight_on(request, link, account)


def _straight_on(request: HttpRequest, link: Link, account: int) -> HttpResponse:
    chosen = enabled_accounts().filter(pk=account).first()
    if chosen is None:
        return _refused(request, expired=False, embed=False)
    visit = _visit(request, link, redirects=1, channel=chosen.kind)
    return _to_messenger(chosen, visit_token_issue(visit))


def _visit(request: HttpRequest, link: Link, **counts: object) -> LinkVisit:
    return LinkVisit.objects.create(
        source=link.source,
        order=link.order,
        customer=link.customer,
        name=link.name,
        device=sources.device_class(request.headers.get("User-Agent", "")),
        utm=sources.utm_tags(request),
        link_issued_at=link.issued_at,
        **counts,
    )


def _to_messenger(account: ChannelAccount, token: str) -> HttpResponse:
    response = MessengerRedirect(account.provider().deep_link(token))
    response["Referrer-Policy"] = "no-referrer"
    patch_cache_control(response, private=True, no_store=True)
    return response


@require_safe
def visit_redirect(request: HttpRequest, token: str, account: int) -> HttpResponse:
    """A button on the page (or its QR code): count it, then on to the messenger."""
    try:
        claims = link_token_claims(token)
    except TokenInvalid as exc:
        return _refused(request, expired=exc.reason == "expired", embed=False)
    chosen = enabled_accounts().filter(pk=account).first()
    if claims.version != VISIT_VERSION or chosen is None:
        return _refused(request, expired=False, embed=False)
    LinkVisit.objects.filter(pk=claims.pk).update(redirects=F("redirects") + 1, channel=chosen.kind)
    response = MessengerRedirect(chosen.provider().deep_link(token))
    response["Referrer-Policy"] = "no-referrer"
    patch_cache_control(response, private=True, no_store=True)
    return response


def _link_page(
    request: HttpRequest, link: Link, *, fallback_token: str, embed: bool
) -> HttpResponse:
    customer = link.customer
    language = page_language(request, customer_locale=customer.locale if customer else None)
    strings = STRINGS[language]
    device = sources.device_class(request.headers.get("User-Agent", ""))
    if device == "bot" and fallback_token:
        # Link previews (a messenger unfurling the e-mail's link) are no opening: no visit.
        links = {a.pk: a.provider().deep_link(fallback_token) for a in enabled_accounts()}
    else:
        links = _redirects(visit_token_issue(_visit(request, link)))
    # The links carry the link's own issue time (not a fresh one), so viewing the page never
    # extends a link's life beyond TOKEN_MAX_AGE_DAYS.
    channels = [_channel(account, links[account.pk], strings) for account in enabled_accounts()]
    lead = strings["lead"].format(order=link.order.external_id) if link.order else ""
    context = {
        "language": language,
        "t": strings,
        "lead": lead or strings["lead_no_order"],
        "channels": channels,
        "embed": embed,
        "shop_url": _shop_url(),
    }
    return _page(request, "subscriptions/subscribe.html", context, status=200)


def _redirects(token: str) -> dict[int, str]:
    """Account pk -> the absolute /s/go/ URL that counts the press and goes on."""
    return {
        account.pk: settings.PUBLIC_BASE_URL
        + reverse("subscriptions:visit-redirect", kwargs={"token": token, "account": account.pk})
        for account in enabled_accounts()
    }


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


def _channel(account: ChannelAccount, link: str, strings: dict[str, str]) -> Channel:
    provider = account.provider()
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
