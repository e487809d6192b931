"""Triggered campaigns: stored order events (and lapsed customers) -> delivery rows.

Each event is fired once: the event row is locked and stamped processed_at in the transaction
that writes its deliveries, so the on-commit task, a broker redelivery and the periodic sweep
can all run it and only the first does anything.
"""

import datetime as dt
import logging
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from campaigns.attribution import order_attribute
from campaigns.audience import Sql, audience_where
from campaigns.materialize import deliveries_insert, linked_first, value
from campaigns.models import Campaign
from subscriptions.models import Order, OrderEvent, Subscription

log = logging.getLogger(__name__)
WINBACK = "no_order_since_delivery"
TRIGGER_EVENTS = (*OrderEvent.Type.values, WINBACK)
CONDITIONS = ("skus", "min_total", "max_total")
# The purchase moments: an order is attributed when the shop reports it created, or paid (for a
# shop that never posts order.created). Later events of the order change nothing.
ATTRIBUTE_ON = (OrderEvent.Type.CREATED, OrderEvent.Type.PAID)
# Events that lost their on-commit task are looked for this far back (an index on the event's
# (type, occurred_at) keeps the sweep cheap; anything older is too late to trigger anyway).
SWEEP_DAYS = 7


def conditions_match(conditions: dict[str, Any], order: Order) -> bool:
    """True if the order meets every condition: {"skus": [...]} (any of), min/max_total."""
    skus = conditions.get("skus")
    if skus and not order.items.filter(sku__in=[str(s) for s in skus]).exists():
        return False
    try:
        if "min_total" in conditions and order.total < Decimal(str(conditions["min_total"])):
            return False
        if "max_total" in conditions and order.total > Decimal(str(conditions["max_total"])):
            return False
    except InvalidOperation:
        return False  # a hand-edited condition that is not a number matches nothing
    return True


def occurrence_key(event: OrderEvent) -> str:
    key = f"event:{event.event_id}"
    # The column holds 100 characters; the shop's event ids may take 100 by themselves.
    return key if len(key) <= 100 else f"event:#{event.pk}"


def trigger_fire(*, event: OrderEvent, now: dt.datetime | None = None) -> int:
    """Write one delivery per matching campaign for the order's customer (on the subscription
    linked to the order if it is in the audience, else their most recently active one),
    attribute the order, mark the event processed; return the number of deliveries."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = (
            OrderEvent.objects.select_for_update(of=("self",))
            .select_related("order")
            .filter(pk=event.pk, processed_at__isnull=True)
            .first()
        )
        if locked is None:
            return 0
        campaigns = Campaign.objects.filter(
            kind=Campaign.Kind.TRIGGERED, status=Campaign.Status.RUNNING, trigger_event=locked.type
        )
        created = sum(_fire(campaign, locked, now) for campaign in campaigns)
        if locked.type in ATTRIBUTE_ON:
            order_attribute(order=locked.order)
        locked.processed_at = now
        locked.save(update_fields=["processed_at"])
        if created:
            transaction.on_commit(partial(wake_customer_accounts, locked.order.customer_id))
    return created


def _fire(campaign: Campaign, event: OrderEvent, now: dt.datetime) -> int:
    if not conditions_match(campaign.trigger_conditions, event.order):
        return 0
    due = event.occurred_at + campaign.trigger_delay
    if due < now - dt.timedelta(hours=settings.TRIGGER_MAX_LATE_HOURS):
        log.info("event %s too old to trigger campaign %s", event.event_id, campaign.pk)
        return 0
    customer = Sql("s.customer_id = %s", (event.order.customer_id,))
    return deliveries_insert(
        campaign=campaign,
        where=audience_where(campaign, now=now) & customer,
        occurrence=value(occurrence_key(event)),
        due_at=value(due),
        order=value(event.order_id),
        order_event=value(event.pk),
        now=now,
        prefer=linked_first(value(event.order_id)),
    )


def winback_materialize(*, campaign: Campaign, now: dt.datetime) -> int:
    """Win-back: customers whose last order was delivered over `trigger_delay` ago and who have
    ordered nothing since get one delivery per such order (occurrence "winback:<order id>")."""
    lapsed = Sql(
        "lo.status <> 'cancelled' AND lo.delivered_at IS NOT NULL AND lo.delivered_at <= %s"
        " AND NOT EXISTS (SELECT 1 FROM subscriptions_order n WHERE n.customer_id = c.id"
        " AND n.status <> 'cancelled' AND n.id <> lo.id"
        " AND (n.placed_at > lo.placed_at OR (n.placed_at = lo.placed_at AND n.id > lo.id)))",
        value(now - campaign.trigger_delay).params,
    )
    return deliveries_insert(
        campaign=campaign,
        where=audience_where(campaign, now=now) & lapsed,
        occurrence=Sql("'winback:' || CAST(lo.id AS TEXT)"),
        due_at=value(now),
        order=Sql("lo.id"),
        now=now,
        joins=" JOIN subscriptions_order lo ON lo.customer_id = c.id",
        prefer=linked_first(Sql("lo.id")),
    )


def order_events_sweep(*, now: dt.datetime, limit: int = 500) -> int:
    """Fire events whose on-commit task never ran (e.g. lost with the broker)."""
    stale = now - dt.timedelta(seconds=settings.ORDER_EVENT_SWEEP_SECONDS)
    pending = OrderEvent.objects.filter(
        type__in=OrderEvent.Type.values,
        occurred_at__gte=now - dt.timedelta(days=SWEEP_DAYS),
        processed_at__isnull=True,
        received_at__lte=stale,
    ).order_by("pk")[:limit]
    created = 0
    for event in pending:
        try:
            created += trigger_fire(event=event, now=now)
        except Exception:  # one bad event must not hold back the others
            log.exception("sweeping order event %s failed", event.pk)
    return created


def wake_customer_accounts(customer_id: int) -> None:
    """Start a dispatcher now on the customer's accounts that have due work and none running,
    so a zero-delay trigger goes out within a second rather than at the next beat tick.

    An account whose dispatcher is already running is left alone: that run claims the new row
    at its next batch (or re-checks after releasing its lease), and skipping the wake saves a
    task per event under load. Rows due later are the beat tick's.
    """
    from campaigns.dispatch import accounts_to_wake
    from campaigns.tasks import dispatch_wake  # the tasks module imports the engine's modules

    mine = Subscription.objects.filter(customer_id=customer_id).values_list("account_id")
    for account_id in sorted({pk for (pk,) in mine} & set(accounts_to_wake(timezone.now()))):
        dispatch_wake(account_id)
