"""Credit a later order to the campaign message that brought the customer back.

Rule: the customer's latest delivery that was clicked or read within ATTRIBUTION_WINDOW_DAYS
before the order was placed (a click and a read at the same moment count as the click).
Holdout members (skipped with reason "holdout") are never sent anything, so they are never
credited: they are the control group stats compare against.
"""

import datetime as dt

from django.conf import settings
from django.db import IntegrityError, transaction

from campaigns.models import Attribution, Delivery
from subscriptions.models import Order


def last_engagement(*, order: Order) -> tuple[Delivery, str] | None:
    """The delivery the customer last clicked or read in the window, and "click" or "read"."""
    end = order.placed_at
    start = end - dt.timedelta(days=settings.ATTRIBUTION_WINDOW_DAYS)
    mine = Delivery.objects.filter(subscription__customer_id=order.customer_id)
    click = mine.filter(clicked_at__gte=start, clicked_at__lte=end).order_by("-clicked_at").first()
    read = mine.filter(read_at__gte=start, read_at__lte=end).order_by("-read_at").first()
    if click is None and read is None:
        return None
    if read is None or (click is not None and click.clicked_at >= read.read_at):  # type: ignore[operator]
        return click, "click"  # type: ignore[return-value]
    return read, "read"


def order_attribute(*, order: Order) -> Attribution | None:
    """Attribute `order` once; a second call returns the existing attribution unchanged."""
    existing = Attribution.objects.filter(order=order).first()
    if existing is not None or order.status == Order.Status.CANCELLED:
        return existing
    found = last_engagement(order=order)
    if found is None:
        return None
    delivery, via = found
    try:
        with transaction.atomic():
            return Attribution.objects.create(order=order, delivery=delivery, via=via)
    except IntegrityError:  # attributed concurrently (one row per order): keep that one
        return Attribution.objects.filter(order=order).first()
