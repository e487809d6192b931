# ruff: noqa: S608 - SQL text is built from constants and aliases only; values are parameters.
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
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from campaigns.attribution import order_attribute
from campaigns.audience import Sql, audience_where, db_time
from campaigns.materialize import deliveries_insert, linked_first, value
from campaigns.models import Campaign, DispatchLease
from channels.models import ChannelAccount
from subscriptions.models import Order, OrderEvent, Subscription

log = logging.getLogger(__name__)
WINBACK = "no_order_since_delivery"
TRIGGER_EVENTS = (*OrderEvent.Type.values, WINBACK)
CONDITIONS = ("skus", "min_total", "max_total")
# The purchase moments: an order is attributed when the shop reports it created, or paid (for a
# shop that never posts order.created). Later events of the order change nothing.
ATTRIBUTE_ON = (OrderEvent.Type.CREATED, OrderEvent.Type.PAID)
# Events fired by one pass (one statement per campaign): bounds a transaction and its locks.
BATCH = 200
DRAIN_BATCHES = 10  # per task or tick; more waits for the next one


def totals_match(conditions: dict[str, Any], order: Order) -> bool:
    """True if the order's total is within {"min_total", "max_total"} (either optional)."""
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
    """Fire one event (see triggers_fire); 0 if it was fired already."""
    return triggers_fire(events=OrderEvent.objects.filter(pk=event.pk), now=now)


def triggers_fire(*, events: "QuerySet[OrderEvent]", now: dt.datetime | None = None) -> int:
    """Fire the unprocessed events among `events` (at most BATCH) in one pass: for each
    matching campaign one INSERT ... SELECT writes a delivery per event for the order's
    customer (on the subscription linked to the order if it is in the audience, else their
    most recently active one); attribute the orders, mark the events processed. Returns the
    number of deliveries.

    Under a stream of events the task of each event finds the ones that arrived with it
    still unfired and takes them all: a few statements per batch instead of a dozen per
    event. SKIP LOCKED: events another pass is firing right now are that pass's.
    """
    now = now or timezone.now()
    with transaction.atomic():
        batch = list(
            events.filter(processed_at__isnull=True)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("order")
            .order_by("pk")[:BATCH]
        )
        if not batch:
            return 0
        # The audience filters and trigger settings, not the content (decoded at send time).
        campaigns = (
            Campaign.objects.filter(
                kind=Campaign.Kind.TRIGGERED,
                status=Campaign.Status.RUNNING,
                trigger_event__in={event.type for event in batch},
            )
            .defer("content")
            .prefetch_related("accounts")
        )
        created = sum(_fire(campaign, batch, now) for campaign in campaigns)
        for event in batch:
            if event.type in ATTRIBUTE_ON:
                order_attribute(order=event.order)
        OrderEvent.objects.filter(pk__in=[event.pk for event in batch]).update(processed_at=now)
        if created:
            customers = {event.order.customer_id for event in batch}
            transaction.on_commit(partial(wake_customer_accounts, customers))
    return created


def _fire(campaign: Campaign, batch: list[OrderEvent], now: dt.datetime) -> int:
    too_late = now - dt.timedelta(hours=settings.TRIGGER_MAX_LATE_HOURS)
    due = {
        event.pk: at
        for event in batch
        if event.type == campaign.trigger_event
        and totals_match(campaign.trigger_conditions, event.order)
        and (at := _due(event, campaign)) is not None
        and at >= too_late
    }
    mine = [event for event in batch if event.pk in due]
    if not mine:
        return 0
    # The batch as a table (id, order, due time, occurrence): plain SELECTs, portable.
    rows = " UNION ALL ".join(
        ["SELECT %s AS id, %s AS order_id, %s AS due_at, %s AS occurrence"] * len(mine)
    )
    params = [
        p
        for event in mine
        for p in (
            event.pk,
            event.order_id,
            db_time(due[event.pk]),
            occurrence_key(event),
        )
    ]
    joins = Sql(
        f" JOIN ({rows}) ev ON 1 = 1"
        " JOIN subscriptions_order eo ON eo.id = ev.order_id AND eo.customer_id = s.customer_id",
        tuple(params),
    )
    where = audience_where(campaign, now=now)
    skus = campaign.trigger_conditions.get("skus")
    if skus:  # bought any of these in the order that fired
        listed = ", ".join(["%s"] * len(skus))
        where &= Sql(
            "EXISTS (SELECT 1 FROM subscriptions_orderitem i"
            f" WHERE i.order_id = ev.order_id AND i.sku IN ({listed}))",
            tuple(str(sku) for sku in skus),
        )
    return deliveries_insert(
        campaign=campaign,
        where=where,
        occurrence=Sql("ev.occurrence"),
        due_at=Sql("ev.due_at"),
        order=Sql("ev.order_id"),
        order_event=Sql("ev.id"),
        now=now,
        joins=joins,
        prefer=linked_first(Sql("ev.order_id")),
        per="s.customer_id, ev.id",
        slices=1,
    )


def _due(event: OrderEvent, campaign: Campaign) -> dt.datetime | None:
    """When the campaign's message about `event` is due; None if that is beyond the calendar
    (a delay of millennia): such a message would never go, and must not fail the batch."""
    try:
        return event.occurred_at + campaign.trigger_delay
    except OverflowError:
        log.warning("campaign %s: event %s + its delay is past year 9999", campaign.pk, event.pk)
        return None


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
        joins=Sql(" JOIN subscriptions_order lo ON lo.customer_id = c.id"),
        prefer=linked_first(Sql("lo.id")),
    )


def order_events_drain(*, now: dt.datetime, older_than: dt.timedelta | None = None) -> int:
    """Fire the unfired order events, a batch at a time (the order events task; with
    `older_than`, the sweep for events whose task was lost). An index holds just the unfired
    ones, so this stays cheap however many events are stored."""
    pending = OrderEvent.objects.filter(processed_at__isnull=True)
    if older_than is not None:
        pending = pending.filter(received_at__lte=now - older_than)
    created = 0
    for _ in range(DRAIN_BATCHES):
        try:
            created += triggers_fire(events=pending, now=now)
        except Exception:
            # One bad event must not hold back the others: fire this batch one by one, and
            # leave the rest to the next pass (the bad event would fail every batch here).
            log.exception("firing a batch of order events failed; firing them one by one")
            return created + _fire_one_by_one(pending.order_by("pk")[:BATCH], now)
        if not pending.exists():
            break
    return created


def order_events_sweep(*, now: dt.datetime) -> int:
    """Fire events whose task never ran (e.g. lost with the broker)."""
    return order_events_drain(
        now=now, older_than=dt.timedelta(seconds=settings.ORDER_EVENT_SWEEP_SECONDS)
    )


def _fire_one_by_one(events: "QuerySet[OrderEvent]", now: dt.datetime) -> int:
    created = 0
    for event in events:
        try:
            created += trigger_fire(event=event, now=now)
        except Exception:  # left unfired and logged; retried by the next pass
            log.exception("firing order event %s failed", event.pk)
    return created


def wake_customer_accounts(customers: set[int]) -> None:
    """Start a dispatcher now on the customers' accounts that have none running, so a
    zero-delay trigger goes out within a second rather than at the next beat tick.

    An account whose dispatcher is running (or lingering for more: DISPATCH_IDLE_SECONDS) is
    left alone: that run claims the new row at its next claim. Under a stream of events that
    is nearly every event, so the check is one plain query; a woken run with nothing due ends
    at once. Rows due later are the beat tick's.
    """
    from campaigns.tasks import dispatch_wake  # the tasks module imports the engine's modules

    with connection.cursor() as cursor:
        listed = ", ".join(["%s"] * len(customers))
        cursor.execute(WITHOUT_DISPATCHER.format(customers=listed), [*customers, timezone.now()])
        idle = [account_id for (account_id,) in cursor.fetchall()]
    for account_id in idle:
        dispatch_wake(account_id)


# The customers' enabled accounts with no live dispatcher lease.
WITHOUT_DISPATCHER = f"""
    SELECT DISTINCT s.account_id FROM {Subscription._meta.db_table} s
    JOIN {ChannelAccount._meta.db_table} a ON a.id = s.account_id AND a.enabled
    WHERE s.customer_id IN ({{customers}}) AND NOT EXISTS (
        SELECT 1 FROM {DispatchLease._meta.db_table} l
        WHERE l.account_id = s.account_id AND l.owner <> '' AND l.expires_at > %s
    )
"""
