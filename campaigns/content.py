"""A delivery's message: the campaign's content for its channel, personalized for its customer.

Runs for every send, so the campaign's content is parsed once per campaign instance (the
dispatcher loads campaigns once per batch) and each placeholder is computed only when used.
"""

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.conf import settings

from campaigns.short_links import short_link
from campaigns.tracking import tracked_link
from channels.messages import Button, Card, RichMessage
from channels.providers import PROVIDERS

if TYPE_CHECKING:
    from campaigns.models import Campaign, Delivery
    from subscriptions.models import Order

# {word} only: user-written content may hold stray braces, "{0}" or "{a.b}", which str.format
# would choke on. Unknown names are left exactly as written.
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
# What {name} becomes when the shop gave no name, by the customer's language.
NEUTRAL_NAME = {"en": "there", "ru": "друг", "uk": "друже"}
LINK = "{link}"
TIMES = "\u00d7"  # the multiplication sign in "2 x Fit 5 days", not a letter x


class NoContent(LookupError):
    """The campaign has no message for this channel and no default."""


def delivery_message(delivery: "Delivery") -> RichMessage:
    """The campaign's message for the delivery's channel and its customer's language, with
    every placeholder filled in."""
    language = delivery.subscription.customer.locale
    template = _template(delivery.campaign, delivery.account.kind, language)
    values = _Values(delivery)
    fill = values.fill
    return RichMessage(
        text=fill(template.text),
        image_url=template.image_url,
        buttons=tuple(_button(b, values) for b in template.buttons),
        quick_replies=tuple(_button(b, values) for b in template.quick_replies),
        cards=tuple(
            Card(
                title=fill(card.title),
                subtitle=fill(card.subtitle),
                image_url=card.image_url,
                buttons=tuple(_button(b, values) for b in card.buttons),
            )
            for card in template.cards
        ),
    )


def template_values(delivery: "Delivery") -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The campaign's WhatsApp template body parameters and quick-reply payloads, personalized
    like the message."""
    campaign = delivery.campaign
    values = _Values(delivery)
    params = tuple(values.fill(str(p)) for p in campaign.whatsapp_template_params or ())
    buttons = tuple(values.fill(str(p)) for p in campaign.whatsapp_template_buttons or ())
    return params, buttons


def template_language(delivery: "Delivery") -> str:
    """The WhatsApp template language code for the delivery's customer: the campaign's
    mapping of their locale, then its base language, then its "default"; never the raw
    locale ("" when the campaign maps nothing: the caller keeps what it had)."""
    mapping = delivery.campaign.whatsapp_template_languages or {}
    locale = delivery.subscription.customer.locale
    for language in (*language_candidates(locale), "default"):
        code = mapping.get(language)
        if code:
            return str(code)
    return ""


def uses_items(campaign: "Campaign", kind: str) -> bool:
    """True if the message in any language (or, on a channel that sends a template outside
    its window: WhatsApp, its template's parameters) mentions {items}: the dispatcher then
    loads order items in bulk."""
    variants = [campaign.content, *(campaign.content_variants or {}).values()]
    content = "".join(str(v.get(kind) or v.get("default") or "") for v in variants)
    templated = PROVIDERS[kind].window.outside == "template"
    params = str(campaign.whatsapp_template_params) if templated else ""
    return "{items}" in content + params


def language_candidates(locale: str) -> tuple[str, ...]:
    """The stated fallback order: the customer's locale ("uk-ua"), then its base language
    ("uk"); after these the campaign's default content."""
    locale = (locale or "").strip().lower().replace("_", "-")
    if not locale:
        return ()
    base = locale.split("-")[0]
    return (locale,) if base == locale else (locale, base)


def content_for(campaign: "Campaign", kind: str, locale: str) -> tuple[str, dict | None]:
    """(language picked, message dict) for a channel kind and a customer locale.

    Language first, then channel: a Ukrainian customer on Telegram gets the uk Telegram
    message, else the uk message for every channel, else the default language's Telegram
    message, else its message for every channel. The language is "" for the default.
    """
    variants = campaign.content_variants or {}
    for language in language_candidates(locale):
        variant = variants.get(language)
        if isinstance(variant, dict):
            data = variant.get(kind) or variant.get("default")
            if isinstance(data, dict):
                return language, data
    return "", campaign.content.get(kind) or campaign.content.get("default")


def _template(campaign: "Campaign", kind: str, locale: str = "") -> RichMessage:
    cache: dict[tuple[str, str], RichMessage] = campaign.__dict__.setdefault("_parsed_content", {})
    key = (kind, locale)
    if key not in cache:
        _, data = content_for(campaign, kind, locale)
        if not isinstance(data, dict):
            raise NoContent(f"campaign {campaign.pk} has no content for {kind} and no default")
        cache[key] = RichMessage.from_dict(data)
    return cache[key]


def _button(button: Button, values: "_Values") -> Button:
    if button.is_url:
        # A URL button is tracked as written; "{link}" stands for the campaign's shop page.
        url = values.link_target() if button.url == LINK else button.url
        return Button(text=values.fill(button.text), url=values.track(url))
    return Button(text=values.fill(button.text), payload=values.fill(button.payload))


class _Values:
    """Placeholder values for one delivery, computed on first use."""

    __slots__ = ("_cache", "delivery")

    def __init__(self, delivery: "Delivery") -> None:
        self.delivery = delivery
        self._cache: dict[str, str] = {}

    def fill(self, text: str) -> str:
        if "{" not in text:  # the common case costs one scan
            return text
        return PLACEHOLDER.sub(self._replace, text)

    def _replace(self, match: re.Match[str]) -> str:
        key = match.group(1)
        value = self._cache.get(key)
        if value is None:
            compute = _COMPUTE.get(key)
            if compute is None:
                return match.group(0)
            value = self._cache[key] = compute(self)
        return value

    def track(self, url: str) -> str:
        delivery = self.delivery
        if delivery.pk and PROVIDERS[delivery.account.kind].short_links:  # not in a preview
            return short_link(delivery_id=delivery.pk, url=url)
        return tracked_link(delivery_id=delivery.pk, url=url)

    def link_target(self) -> str:
        return self.delivery.campaign.link_url or settings.SHOP_URL

    def name(self) -> str:
        customer = self.delivery.subscription.customer
        if customer.name.strip():
            return customer.name.strip()
        language = (customer.locale or "en").split("-")[0].lower()
        return NEUTRAL_NAME.get(language, NEUTRAL_NAME["en"])

    def order(self) -> "Order | None":
        # A triggered delivery names its order; a campaign send falls back to the one the
        # customer subscribed through.
        return self.delivery.order or self.delivery.subscription.order

    def order_id(self) -> str:
        order = self.order()
        return order.external_id if order else ""

    def items(self) -> str:
        order = self.order()
        if order is None:
            return ""
        items = sorted(order.items.all(), key=lambda item: item.pk)  # prefetched: no ORDER BY
        return ", ".join(f"{item.quantity} {TIMES} {item.name}" for item in items)

    def link(self) -> str:
        return self.track(self.link_target())

    def delivery_id(self) -> str:
        return str(self.delivery.pk)


_COMPUTE: dict[str, Callable[[_Values], str]] = {
    "name": _Values.name,
    "order": _Values.order_id,
    "items": _Values.items,
    "link": _Values.link,
    "delivery": _Values.delivery_id,
}
