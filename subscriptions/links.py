"""Subscribe links for an order: one deep link per enabled channel account, and the hosted page."""

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse

from channels.models import ChannelAccount
from subscriptions.models import Order
from subscriptions.tokens import order_token_issue


def order_subscribe_links(token: str) -> dict[str, str]:
    """Account name -> deep link carrying `token`, for enabled accounts, by name.

    URLs are built on settings.PUBLIC_BASE_URL, never on a request's Host header (which a
    client controls).
    """
    return {account.name: account.provider().deep_link(token) for account in enabled_accounts()}


def enabled_accounts() -> QuerySet[ChannelAccount]:
    """The accounts a customer is offered: enabled, and the sandbox only while it is on."""
    return ChannelAccount.objects.customer_facing().order_by("name")


def subscribe_page_url(token: str) -> str:
    """The absolute URL of the hosted subscribe page for `token`."""
    path = reverse("subscriptions:subscribe-page", kwargs={"token": token})
    return f"{settings.PUBLIC_BASE_URL}{path}"


def order_subscribe_offer(order: Order) -> dict[str, object]:
    """Links, page and token for one fresh token: what the API answers about an order."""
    token = order_token_issue(order)
    return {
        "subscribe_links": order_subscribe_links(token),
        "subscribe_page": subscribe_page_url(token),
        "subscribe_token": token,
    }
