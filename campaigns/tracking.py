"""Tracked links: `/r/<signed>` records the click, then redirects to the shop page with utm tags.

The target URL travels inside the signed value (itsdangerous, salt "comeback.link"), never as a
plain parameter, so the redirect cannot be pointed anywhere else (no open redirect). The form is
`{PUBLIC_BASE_URL}/r/<signed>` without a trailing slash: the signed value is URL-safe base64
and a dot, never a slash, and a shorter link survives SMS-like previews better.
"""

import logging
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_safe
from itsdangerous import BadData, URLSafeSerializer

from campaigns.models import Delivery, LinkClick
from shopwebhooks.emit import emit
from shopwebhooks.models import EventType

log = logging.getLogger(__name__)
SALT = "comeback.link"
# Messengers fetch a link to draw its preview card; those fetches are not the customer's click.
PREVIEW_AGENTS = (
    "telegrambot", "facebookexternalhit", "facebookcatalog", "whatsapp", "viber", "vkshare",
    "twitterbot", "slackbot",
)  # fmt: skip


def _serializer() -> URLSafeSerializer:
    # itsdangerous signs with the last key and verifies with all: old keys first.
    keys = [*settings.SECRET_KEY_FALLBACKS, settings.SECRET_KEY]
    return URLSafeSerializer(keys, salt=SALT)


def tracked_link(*, delivery_id: int, url: str) -> str:
    """The public tracked URL that records a click on `url` for the delivery."""
    return f"{settings.PUBLIC_BASE_URL}/r/{_serializer().dumps([delivery_id, url])}"


def link_target(signed: str) -> tuple[int, str] | None:
    """The (delivery id, url) a signed value carries, or None if forged or malformed."""
    try:
        data = _serializer().loads(signed)
    except BadData:
        return None
    if not (isinstance(data, list) and len(data) == 2):
        return None
    delivery_id, url = data
    if not isinstance(delivery_id, int) or not isinstance(url, str):
        return None
    if urlsplit(url).scheme.lower() not in ("http", "https") or not urlsplit(url).netloc:
        return None
    return delivery_id, url


def with_utm(url: str, **utm: str) -> str:
    """`url` with utm_* parameters added; ones the marketer already wrote into it are kept."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    present = {key for key, _ in query}
    query += [(f"utm_{key}", value) for key, value in utm.items() if f"utm_{key}" not in present]
    return urlunsplit(parts._replace(query=urlencode(query)))


def link_click_record(*, delivery: Delivery, url: str) -> LinkClick:
    """Store the click; the delivery's clicked_at keeps the first one."""
    now = timezone.now()
    with transaction.atomic():
        click = LinkClick.objects.create(delivery=delivery, url=url[:2000], clicked_at=now)
        Delivery.objects.filter(pk=delivery.pk, clicked_at__isnull=True).update(clicked_at=now)
        emit(
            EventType.LINK_CLICKED,
            {
                "delivery_id": delivery.pk,
                "campaign_id": delivery.campaign_id,
                "customer_external_id": delivery.subscription.customer.external_id,
                "channel": delivery.account.kind,
                "url": click.url,
                "clicked_at": now.isoformat(),
            },
        )
    return click


@require_safe
def link_open(request: HttpRequest, signed: str) -> HttpResponse:
    """GET /r/<signed>: record the click and redirect (302); forged -> friendly 404."""
    target = link_target(signed)
    if target is None:
        log.info("tracked link rejected: bad signature or target")
        context = {"shop_url": settings.SHOP_URL}
        return render(request, "campaigns/link_invalid.html", context, status=404)
    return tracked_redirect(request, *target)


def tracked_redirect(request: HttpRequest, delivery_id: int, url: str) -> HttpResponse:
    """Record the click on the delivery's link to `url` (not a preview bot's) and redirect
    there with utm tags (302)."""
    delivery = (
        Delivery.objects.select_related("campaign", "account", "subscription__customer")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None:  # the delivery was deleted: still take the customer where they meant
        return HttpResponseRedirect(with_utm(url, source="comeback"))
    agent = request.headers.get("user-agent", "").lower()
    if request.method == "GET" and not any(bot in agent for bot in PREVIEW_AGENTS):
        link_click_record(delivery=delivery, url=url)
    campaign = delivery.campaign
    return HttpResponseRedirect(
        with_utm(
            url,
            source="comeback",
            medium=delivery.account.kind,
            campaign=f"{slugify(campaign.name) or 'campaign'}-{campaign.pk}",
        )
    )
