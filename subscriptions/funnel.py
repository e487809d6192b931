"""The subscribe funnel, in SQL: orders with links issued -> subscribe page opened -> a
messenger's button pressed (the /s/go/ redirect) -> subscribed -> still subscribed 30 days
later; per source, device and messenger, and next to it the shop's own e-mail opt-in rate.

Who "opened" is counted once per opener: an order (its hosted page, embed and e-mail link), a
known customer (account page, e-mail footer) or a single visit of a campaign link (a printed QR,
an ad: there is no one to recognise). "Still subscribed after 30 days" is over the subscribers
of the period who subscribed at least 30 days ago (`old_enough_30d`), so young subscribers
neither count for nor against it.
"""

from datetime import datetime, timedelta
from typing import Any

from django.db.models import CharField, Count, F, Q, QuerySet, Value
from django.db.models.functions import Cast, Coalesce, Concat
from django.utils import timezone

from subscriptions.models import LinkVisit, Order, Subscription

RETENTION = timedelta(days=30)
STEPS = ("links_issued", "page_opened", "button_pressed", "subscribed", "still_subscribed_30d")
DIMENSIONS = {"source": "source", "device": "device", "messenger": "account__kind"}


def funnel_figures(*, days: int = 30, now: datetime | None = None) -> dict[str, Any]:
    """The funnel over the last `days` days (see the module doc)."""
    until = now or timezone.now()
    since = until - timedelta(days=days)
    # Link previews (a messenger unfurling a signed link) are visits by bots: not openings.
    visits = LinkVisit.objects.filter(opened_at__gte=since, opened_at__lt=until).exclude(
        device="bot"
    )
    subscriptions = Subscription.objects.filter(subscribed_at__gte=since, subscribed_at__lt=until)
    issued = Order.objects.filter(links_issued_at__gte=since, links_issued_at__lt=until)
    total = {"links_issued": issued.count()}
    total |= _opened(visits, group=None)[0]
    total |= _kept(subscriptions, until, group=None)[0]
    figures: dict[str, Any] = {
        "since": since,
        "until": until,
        "days": days,
        "steps": list(STEPS),
        "total": total,
    }
    for name, field in DIMENSIONS.items():
        figures[f"by_{name}"] = _by(visits, subscriptions, until, name, field)
    figures |= _versus_email(issued, since, until)
    return figures


def _opener() -> Coalesce:
    """One opener per order, per known customer, else per visit."""
    text = CharField()
    return Coalesce(
        Concat(Value("o"), Cast("order_id", text), output_field=text),
        Concat(Value("c"), Cast("customer_id", text), output_field=text),
        Concat(Value("v"), Cast("id", text), output_field=text),
        output_field=text,
    )


def _opened(visits: QuerySet[LinkVisit], *, group: str | None) -> list[dict[str, Any]]:
    counts = {
        "page_opened": Count("opener", distinct=True),
        "button_pressed": Count("opener", distinct=True, filter=Q(redirects__gt=0)),
    }
    rows = visits.annotate(opener=_opener())
    if group is None:
        return [rows.aggregate(**counts)]
    return list(rows.values(key=F(group)).annotate(**counts).values("key", *counts))


def _opened_zero() -> dict[str, int]:
    return {"page_opened": 0, "button_pressed": 0}


def _kept(
    subscriptions: QuerySet[Subscription], until: datetime, *, group: str | None
) -> list[dict[str, Any]]:
    cutoff = until - RETENTION
    old_enough = Q(subscribed_at__lte=cutoff)
    stayed = Q(status=Subscription.Status.ACTIVE) | Q(
        unsubscribed_at__gt=F("subscribed_at") + RETENTION
    )
    counts = {
        "subscribed": Count("pk"),
        "old_enough_30d": Count("pk", filter=old_enough),
        "still_subscribed_30d": Count("pk", filter=old_enough & stayed),
    }
    if group is None:
        return [subscriptions.aggregate(**counts)]
    return list(subscriptions.values(key=F(group)).annotate(**counts).values("key", *counts))


def _by(
    visits: QuerySet[LinkVisit],
    subscriptions: QuerySet[Subscription],
    until: datetime,
    name: str,
    field: str,
) -> list[dict[str, Any]]:
    """Rows of one dimension, by key; a messenger is known to the visit by its button."""
    visit_field = "channel" if name == "messenger" else field
    rows: dict[str, dict[str, Any]] = {}
    empty = _opened_zero() | {"subscribed": 0, "old_enough_30d": 0, "still_subscribed_30d": 0}
    for row in _opened(visits, group=visit_field) + _kept(subscriptions, until, group=field):
        key = row.pop("key") or "unknown"
        if name == "messenger" and key == "unknown" and "page_opened" in row:
            continue  # pages opened without pressing a messenger's button: no messenger
        target = rows.setdefault(key, {name: key} | empty)
        for figure, value in row.items():
            target[figure] += value
    if name == "messenger":
        for row in rows.values():
            row.pop("page_opened")
    return [rows[key] for key in sorted(rows)]


def _versus_email(issued: QuerySet[Order], since: datetime, until: datetime) -> dict[str, Any]:
    """The share of orders whose customer subscribed in a messenger beside the share that
    opted into e-mail, on the orders the shop told us about (email_opt_in given)."""
    told = Order.objects.filter(
        placed_at__gte=since, placed_at__lt=until, email_opt_in__isnull=False
    )
    email = told.aggregate(orders=Count("pk"), opted_in=Count("pk", filter=Q(email_opt_in=True)))
    messenger = issued.aggregate(
        orders=Count("pk", distinct=True),
        subscribed=Count("pk", filter=Q(subscription__isnull=False), distinct=True),
    )
    email_rate = _rate(email["opted_in"], email["orders"])
    messenger_rate = _rate(messenger["subscribed"], messenger["orders"])
    times = None
    if email_rate and messenger_rate is not None:
        times = round(messenger_rate / email_rate, 2)
    return {
        "email": {**email, "rate": email_rate},
        "messenger": {**messenger, "rate": messenger_rate},
        "times_email": times,
    }


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


HELP = (
    "The subscribe funnel (subscriptions/funnel.py): total {links_issued, page_opened, "
    "button_pressed, subscribed, old_enough_30d, still_subscribed_30d}; by_source, by_device "
    "and by_messenger rows of the same figures (a messenger is known from the button pressed); "
    "email {orders, opted_in, rate} over orders posted with email_opt_in; messenger {orders, "
    "subscribed, rate} over orders with links issued; times_email = messenger rate / e-mail rate."
)
EXAMPLE = {
    "since": "2026-11-05T12:00:00Z", "until": "2026-12-05T12:00:00Z", "days": 30,
    "steps": list(STEPS),
    "total": {"links_issued": 1000, "page_opened": 420, "button_pressed": 260,
              "subscribed": 210, "old_enough_30d": 90, "still_subscribed_30d": 78},
    "by_source": [
        {"source": "checkout_embed", "page_opened": 300, "button_pressed": 180,
         "subscribed": 150, "old_enough_30d": 60, "still_subscribed_30d": 53},
        {"source": "qr_scan", "page_opened": 120, "button_pressed": 80, "subscribed": 60,
         "old_enough_30d": 30, "still_subscribed_30d": 25},
    ],
    "by_device": [
        {"device": "phone", "page_opened": 350, "button_pressed": 230, "subscribed": 190,
         "old_enough_30d": 80, "still_subscribed_30d": 70},
        {"device": "desktop", "page_opened": 70, "button_pressed": 30, "subscribed": 20,
         "old_enough_30d": 10, "still_subscribed_30d": 8},
    ],
    "by_messenger": [
        {"messenger": "telegram", "button_pressed": 160, "subscribed": 130, "old_enough_30d": 55,
         "still_subscribed_30d": 49},
        {"messenger": "whatsapp", "button_pressed": 100, "subscribed": 80, "old_enough_30d": 35,
         "still_subscribed_30d": 29},
    ],
    "email": {"orders": 900, "opted_in": 63, "rate": 0.07},
    "messenger": {"orders": 1000, "subscribed": 190, "rate": 0.19},
    "times_email": 2.71,
}  # fmt: skip
