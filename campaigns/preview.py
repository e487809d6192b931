"""A campaign's message on each channel (the messengers, e-mail, the sandbox), connected or not:
rendered by that platform's own adapter, so its limits and degradation show, for a real recent
customer and order, with the request body the platform would receive."""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Exists, OuterRef

from campaigns.content import NoContent, content_for, delivery_message
from campaigns.models import Campaign, Delivery
from campaigns.preview_shown import shown
from channels.errors import SendError
from channels.models import ChannelAccount
from channels.providers import PROVIDERS
from channels.providers.base import SendOptions
from subscriptions.models import Customer, Order, OrderItem, Subscription

CHANNELS = tuple(PROVIDERS)  # every kind, in the registry's order
SAMPLE_LANGUAGES = ("", "en", "ru", "uk")
RECENT = 20


def recent_orders() -> list[Order]:
    """Recent orders that have items, for the sample picker (newest first)."""
    has_items = OrderItem.objects.filter(order=OuterRef("pk"))
    return list(
        Order.objects.filter(Exists(has_items), customer__erased_at__isnull=True)
        .select_related("customer")
        .order_by("-placed_at")[:RECENT]
    )


def sample_order(order_id: int | None = None) -> Order:
    """The chosen recent order, else the newest one with items, else a made-up one (a fresh
    install has none) so that no placeholder is left empty."""
    orders = Order.objects.select_related("customer").filter(customer__erased_at__isnull=True)
    order = orders.filter(pk=order_id).first() if order_id else None
    if order is None:
        recent = recent_orders()
        order = recent[0] if recent else None
    if order is not None:
        return order
    customer = Customer(name="Alex", locale="en", time_zone="UTC")
    made_up = Order(pk=0, external_id="10042", customer=customer, total=Decimal("24.90"),
                    currency="EUR", placed_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))  # fmt: skip
    # Unsaved: its items are given as already loaded, so content.py reads them without a query.
    made_up._prefetched_objects_cache = {
        "items": [
            OrderItem(pk=1, name="Fit 5 days", quantity=2, price=Decimal("9.95")),
            OrderItem(pk=2, name="Detox juice", quantity=1, price=Decimal("5.00")),
        ]
    }
    return made_up


def preview_account(kind: str) -> ChannelAccount:
    """The first enabled account of the kind, or an unsaved stand-in: rendering needs no
    credentials, so every messenger can be previewed before it is connected."""
    account = ChannelAccount.objects.filter(kind=kind, enabled=True).order_by("pk").first()
    return account or ChannelAccount(kind=kind, name="not connected", credentials={})


def campaign_previews(
    campaign: Campaign, *, language: str = "", order: Order | None = None
) -> list[dict[str, Any]]:
    """One preview per channel: the message as filled in, the request body, or the error."""
    order = order or sample_order()
    customer = order.customer
    locale = language or customer.locale or ""
    previews = []
    for kind in CHANNELS:
        account = preview_account(kind)
        sample = Customer(pk=customer.pk, name=customer.name, locale=locale,
                          time_zone=customer.time_zone)  # fmt: skip
        subscription = Subscription(account=account, customer=sample, platform_user_id="preview")
        delivery = Delivery(id=0, campaign=campaign, account=account, subscription=subscription)
        delivery._state.fields_cache["order"] = order  # the sample, saved or made up
        picked, _ = content_for(campaign, kind, locale)
        entry: dict[str, Any] = {
            "kind": kind,
            "label": PROVIDERS[kind].label,
            "connected": account.pk is not None,
            "language": picked or "default",
        }
        try:
            message = delivery_message(delivery)
            options = SendOptions(category=campaign.category, language=locale or "en")
            entry["message"] = message.to_dict()
            entry["body"] = account.provider().render(message, options)
            entry["shown"] = shown(kind, entry["body"])
        except (NoContent, SendError, KeyError, TypeError, ValueError) as exc:
            entry["error"] = str(exc) or type(exc).__name__
        previews.append(entry)
    return previews
