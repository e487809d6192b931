"""Many order events in one request: each stored once, each answered as a single post would be.

A shop catching up after an outage posts thousands of events; one request per event costs more
in Django and DRF than the event itself. On PostgreSQL a batch, like a single event (a batch of
one), is one statement: lock its orders, insert the new events, move the orders. Then a read of
the events that were there already (repeats, if any), and one wake-up of the campaign engine.
"""

import json
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from subscriptions.api.services import (
    EventConflict,
    event_repeat,
    notify_campaigns,
    order_apply,
)
from subscriptions.models import Order, OrderEvent

MAX_EVENTS = 1000
UNKNOWN_ORDER = "No order with this external id; post it to /api/v1/orders/ first."
CONFLICT = "This event_id was used before with a different body."
# Only the columns an answer shows and a move changes: a batch reads thousands of rows.
ANSWERED = ("event_id", "type", "occurred_at", "data", "received_at", "order__external_id")
MOVED = ("status", "paid_at", "delivered_at", "cancelled_at")


# One statement, one round trip: lock the orders (in id order, so two batches never deadlock),
# insert the new events, move the orders and answer what was stored. A single event, most
# requests, needs no transaction around it. The move is services.order_apply's rule for many
# events of an order at once (tests check the two agree): cancelled is final, otherwise the
# status goes to the furthest of created, paid, delivered; each stamp keeps its first report,
# the earliest of the new events that set it.
_RECEIVE = """
    WITH new AS (
        SELECT * FROM unnest(%(ids)s::varchar[], %(types)s::varchar[], %(orders)s::varchar[],
                             %(at)s::timestamptz[], %(data)s::text[])
            AS new(event_id, type, order_external_id, occurred_at, data)
    ), locked AS (
        SELECT id, external_id, status, paid_at, delivered_at, cancelled_at
        FROM subscriptions_order
        WHERE external_id = ANY(%(orders)s::varchar[]) ORDER BY id FOR UPDATE
    ), stored AS (
        INSERT INTO subscriptions_orderevent
            (event_id, type, order_id, occurred_at, data, received_at)
        SELECT new.event_id, new.type, locked.id, new.occurred_at, new.data::jsonb, %(now)s
        FROM new JOIN locked ON locked.external_id = new.order_external_id
        ON CONFLICT (event_id) DO NOTHING
        RETURNING id, event_id, type, order_id, occurred_at, data, received_at
    ), moves AS (
        SELECT l.id,
            CASE WHEN l.status = 'cancelled' OR bool_or(s.type = 'order.cancelled')
                THEN 'cancelled'
                ELSE (ARRAY['created', 'paid', 'delivered'])[GREATEST(
                    array_position(ARRAY['created', 'paid', 'delivered']::varchar[], l.status),
                    max(array_position(
                        ARRAY['order.created', 'order.paid', 'order.delivered']::varchar[],
                        s.type)))]
            END AS status,
            COALESCE(l.paid_at, min(s.occurred_at) FILTER (WHERE s.type = 'order.paid'))
                AS paid_at,
            COALESCE(l.delivered_at,
                     min(s.occurred_at) FILTER (WHERE s.type = 'order.delivered'))
                AS delivered_at,
            COALESCE(l.cancelled_at,
                     min(s.occurred_at) FILTER (WHERE s.type = 'order.cancelled'))
                AS cancelled_at
        FROM stored AS s JOIN locked AS l ON l.id = s.order_id
        GROUP BY l.id, l.status, l.paid_at, l.delivered_at, l.cancelled_at
    ), moved AS (
        UPDATE subscriptions_order AS o
        SET status = m.status, paid_at = m.paid_at, delivered_at = m.delivered_at,
            cancelled_at = m.cancelled_at, updated_at = %(now)s
        FROM moves AS m
        WHERE o.id = m.id
            AND (o.status, o.paid_at, o.delivered_at, o.cancelled_at)
                IS DISTINCT FROM (m.status, m.paid_at, m.delivered_at, m.cancelled_at)
    )
    SELECT s.id, s.event_id, s.type, s.occurred_at, s.data, s.received_at, s.order_id,
        l.external_id
    FROM stored AS s JOIN locked AS l ON l.id = s.order_id
"""


@dataclass
class Answer:
    """What a single post of this event would have answered: 201 with the event, 400 with the
    field errors, or 409."""

    status: int
    event: OrderEvent | None = None
    created: bool = False
    errors: dict[str, Any] | None = None


def order_events_receive(items: list[dict[str, Any] | Answer]) -> list[Answer]:
    """Store the validated events of a batch (an `Answer` in the list is an invalid item,
    answered as it is); one answer per item, in order."""
    valid = {i: item for i, item in enumerate(items) if not isinstance(item, Answer)}
    first: dict[str, int] = {}  # a batch may repeat an event: its first copy is stored
    for i, item in valid.items():
        first.setdefault(item["event_id"], i)
    events = [valid[i] for i in first.values()]
    store = _store if connection.vendor == "postgresql" else _store_portably
    created = store(events) if events else {}
    # What was not stored now was stored before (a repeat) or has no order (a 400).
    stored = created | _stored_before([event_id for event_id in first if event_id not in created])
    if created:
        newest = max(event.pk for event in created.values())
        transaction.on_commit(partial(notify_campaigns, newest))
    return [
        item if isinstance(item, Answer) else _answer(i, item, first, created, stored)
        for i, item in enumerate(items)
    ]


def _store(events: list[dict[str, Any]]) -> dict[str, OrderEvent]:
    """The events stored now, by event id (one stored before, by anyone, is not among them)."""
    with connection.cursor() as cursor:
        cursor.execute(
            _RECEIVE,
            {
                "now": timezone.now(),
                "ids": [event["event_id"] for event in events],
                "types": [event["type"] for event in events],
                "orders": [event["order_external_id"] for event in events],
                "at": [event["occurred_at"] for event in events],
                "data": [json.dumps(event.get("data", {})) for event in events],
            },
        )
        rows = cursor.fetchall()
    return {
        event_id: OrderEvent(
            pk=pk,
            event_id=event_id,
            type=kind,
            order=Order(pk=order_pk, external_id=external_id),
            occurred_at=occurred_at,
            data=json.loads(data),  # jsonb comes back as text, as Django reads it
            received_at=received_at,
        )
        for pk, event_id, kind, occurred_at, data, received_at, order_pk, external_id in rows
    }


def _stored_before(event_ids: list[str]) -> dict[str, OrderEvent]:
    if not event_ids:
        return {}
    stored = OrderEvent.objects.select_related("order").only(*ANSWERED)
    return {event.event_id: event for event in stored.filter(event_id__in=event_ids)}


@transaction.atomic
def _store_portably(events: list[dict[str, Any]]) -> dict[str, OrderEvent]:
    # SQLite (the embedded default) has no arrays and no writing CTEs: the same steps one by
    # one, the orders moved in Python by the same rule. Its writers take turns, so what was
    # there before the insert is what the insert skipped.
    locked = Order.objects.only("external_id", *MOVED)
    orders = {
        o.external_id: o
        for o in locked.filter(external_id__in={e["order_external_id"] for e in events})
    }
    events = [event for event in events if event["order_external_id"] in orders]
    ids = [event["event_id"] for event in events]
    before = set(OrderEvent.objects.filter(event_id__in=ids).values_list("event_id", flat=True))
    OrderEvent.objects.bulk_create(
        [
            OrderEvent(
                event_id=event["event_id"],
                type=event["type"],
                order=orders[event["order_external_id"]],
                occurred_at=event["occurred_at"],
                data=event.get("data", {}),
            )
            for event in events
            if event["event_id"] not in before
        ],
        ignore_conflicts=True,
    )
    created = _stored_before([event_id for event_id in ids if event_id not in before])
    changed: dict[int, Order] = {}
    for event in sorted(created.values(), key=lambda event: (event.occurred_at, event.pk)):
        order = orders[event.order.external_id]
        if order_apply(order, event.type, event.occurred_at):
            changed[order.pk] = order
    now = timezone.now()
    for order in changed.values():
        order.updated_at = now
    Order.objects.bulk_update(changed.values(), [*MOVED, "updated_at"])
    return created


def _answer(
    i: int,
    item: dict[str, Any],
    first: dict[str, int],
    created: set[str],
    stored: dict[str, OrderEvent],
) -> Answer:
    event_id = item["event_id"]
    event = stored.get(event_id)
    if event is None:
        return Answer(400, errors={"order_external_id": [UNKNOWN_ORDER]})
    if first[event_id] == i and event_id in created:
        return Answer(201, event=event, created=True)
    try:
        return Answer(201, event=event_repeat(event, item))
    except EventConflict:
        return Answer(409, errors={"detail": CONFLICT})
