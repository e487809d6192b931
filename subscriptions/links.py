"""Subscribe links: for an order (the token, its hosted page), for a known customer without an
order (account page, e-mail footer) and for nobody in particular (a printed QR, an ad).

Links other than the bare order token are itsdangerous-signed (salt "comeback.link", the keys of
settings.TOKEN_SECRETS, newest first) compact JSON: {"s": source, "o": order pk} or
{"s": source, "c": customer pk} dated by "t", or {"s": source, "n": name} for a campaign link,
which never expires (it is printed). The source is inside the signature: a changed link
verifies no more and links nothing.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from itsdangerous import BadData, URLSafeSerializer

from channels.models import ChannelAccount
from channels.providers import LINKED_KINDS
from subscriptions import sources
from subscriptions.models import Customer, Order
from subscriptions.tokens import TokenInvalid, order_token_issue

LINK_SALT = "comeback.link"


def order_subscribe_links(token: str) -> dict[str, str]:
    """Account name -> deep link carrying `token`, for enabled accounts, by name.

    URLs are built on settings.PUBLIC_BASE_URL, never on a request's Host header (which a
    client controls).
    """
    return {account.name: account.provider().deep_link(token) for account in enabled_accounts()}


def enabled_accounts() -> QuerySet[ChannelAccount]:
    """The accounts a customer is offered: enabled messengers, and the sandbox only while it
    is on (e-mail and SMS are opened by the shop's opt-in, not by a link)."""
    return ChannelAccount.objects.customer_facing().filter(kind__in=LINKED_KINDS).order_by("name")


def subscribe_page_url(token: str) -> str:
    """The absolute URL of the hosted subscribe page for `token`."""
    path = reverse("subscriptions:subscribe-page", kwargs={"token": token})
    return f"{settings.PUBLIC_BASE_URL}{path}"


def order_subscribe_offer(order: Order) -> dict[str, object]:
    """Links, page and token for one fresh token: what the API answers about an order.

    The first offer stamps the order's links_issued_at: the funnel's first step.
    """
    token = order_token_issue(order)
    if order.links_issued_at is None:
        order.links_issued_at = timezone.now()
        Order.objects.filter(pk=order.pk, links_issued_at=None).update(
            links_issued_at=order.links_issued_at
        )
    return {
        "subscribe_links": order_subscribe_links(token),
        "subscribe_counted_links": {
            account.name: _absolute(
                reverse(
                    "subscriptions:order-redirect", kwargs={"token": token, "account": account.pk}
                )
            )
            for account in enabled_accounts()
        },
        "subscribe_page": subscribe_page_url(token),
        "subscribe_email_link": signed_link_url(source=sources.ORDER_EMAIL, order=order),
        "subscribe_token": token,
    }


# --- signed links -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Link:
    """What a subscribe link says, verified."""

    source: str
    issued_at: datetime
    order: Order | None = None
    customer: Customer | None = None
    name: str = ""


def signed_link_url(
    *,
    source: str,
    order: Order | None = None,
    customer: Customer | None = None,
    name: str = "",
    now: datetime | None = None,
) -> str:
    """The absolute URL of a signed subscribe link (see the module doc)."""
    data: dict[str, object] = {"s": source}
    if order is not None and source in sources.ORDER_SOURCES:
        data |= {"o": order.pk, "t": _stamp(now)}
    elif customer is not None and source in sources.CUSTOMER_SOURCES:
        data |= {"c": customer.pk, "t": _stamp(now)}
    elif order is None and customer is None and source in sources.CAMPAIGN_SOURCES and name:
        data |= {"n": name[:100]}
    else:
        raise ValueError(f"no {source!r} link for order={order} customer={customer} name={name!r}")
    code = _serializer().dumps(data)
    path = reverse("subscriptions:link-page", kwargs={"code": code})
    return f"{settings.PUBLIC_BASE_URL}{path}"


def signed_link_read(code: str, *, now: datetime | None = None) -> Link:
    """The link `code` names; raise TokenInvalid (bad_signature, malformed, expired, gone)."""
    try:
        data = _serializer().loads(code)
    except BadData:
        raise TokenInvalid("bad_signature") from None
    if not isinstance(data, dict) or data.get("s") not in sources.SOURCES:
        raise TokenInvalid("malformed")
    now = now or timezone.now()
    if "n" in data:
        return Link(data["s"], issued_at=now, name=str(data["n"]))
    issued_at = datetime.fromtimestamp(int(data.get("t", 0)), tz=UTC)
    if now - issued_at > timedelta(days=settings.TOKEN_MAX_AGE_DAYS):
        raise TokenInvalid("expired")
    if "o" in data:
        order = Order.objects.select_related("customer").filter(pk=data["o"]).first()
        if order is None:
            raise TokenInvalid("unknown_order")
        return Link(data["s"], issued_at, order=order, customer=order.customer)
    customer = Customer.objects.filter(pk=data.get("c"), erased_at=None).first()
    if customer is None:
        raise TokenInvalid("unknown_customer")
    return Link(data["s"], issued_at, customer=customer)


def _absolute(path: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}{path}"


def _stamp(now: datetime | None) -> int:
    return int((now or timezone.now()).timestamp())


def _serializer() -> URLSafeSerializer:
    # Read settings on each call so rotation (and tests overriding settings) take effect.
    return URLSafeSerializer(list(reversed(settings.TOKEN_SECRETS)), salt=LINK_SALT)
