"""What the shop's backend asks of us: upsert an order, record an order event.

These live beside the API rather than in subscriptions/services.py because the API is their
only caller; they take validated serializer data.
"""

import logging
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from config.wakeups import wake_once
from subscriptions.contact_consent import CHANNELS, ContactConsent, contact_consent_apply
from subscriptions.models import TOPIC_FIELDS, Customer, Order, OrderEvent, OrderItem
from subscriptions.services import customer_adopt_chats

log = logging.getLogger(__name__)

# The campaign engine's task (campaigns depends on subscriptions, never the reverse: by name).
ORDER_EVENT_TASK = "campaigns.order_event_received"
STAMPS = {
    Order.Status.PAID: "paid_at",
    Order.Status.DELIVERED: "delivered_at",
    Order.Status.CANCELLED: "cancelled_at",
}
EVENT_STATUS = {
    OrderEvent.Type.CREATED: Order.Status.CREATED,
    OrderEvent.Type.PAID: Order.Status.PAID,
    OrderEvent.Type.DELIVERED: Order.Status.DELIVERED,
    OrderEvent.Type.CANCELLED: Order.Status.CANCELLED,
}
PROGRESS = [Order.Status.CREATED, Order.Status.PAID, Order.Status.DELIVERED]


class OrderCustomerMismatch(Exception):
    """The order exists and belongs to another customer."""


class EventConflict(Exception):
    """The event id was used before with a different body."""


def order_upsert(*, data: dict[str, Any]) -> tuple[Order, bool]:
    """Create or update the order (and its customer) by external id; True if created."""
    try:
        order, created = _order_upsert(data)
    except IntegrityError:
        # A concurrent first upsert of the same order won the insert: ours is now an update.
        order, created = _order_upsert(data)
    # A chat that subscribed from a QR in the box with this customer's phone or e-mail.
    customer_adopt_chats(customer=order.customer, evidence=f"order {order.external_id}"[:255])
    for channel in CHANNELS:
        given = data.get(f"{channel}_consent")
        if given is not None:
            consent = ContactConsent(
                channel=channel,
                granted=given["granted"],
                wording=given.get("wording", ""),
                shown_at=given.get("shown_at") or timezone.now(),
                topics=tuple(given.get("topics") or TOPIC_FIELDS),
            )
            evidence = f"order {order.external_id}"
            contact_consent_apply(customer=order.customer, consent=consent, evidence=evidence)
    return order, created


@transaction.atomic
def _order_upsert(data: dict[str, Any]) -> tuple[Order, bool]:
    """Writes only what changed: shops repost orders unchanged (retries, periodic syncs), and
    an unchanged repost costs two reads."""
    given = dict(data["customer"])
    external_customer = given.pop("external_id")
    order = (
        Order.objects.select_for_update()
        .select_related("customer")
        .filter(external_id=data["external_id"])
        .first()
    )
    if order is not None and order.customer.external_id != external_customer:
        raise OrderCustomerMismatch(order.customer.external_id)
    if order is not None:
        customer = order.customer
        _save_changes(customer, given)
    else:
        customer, new = Customer.objects.get_or_create(
            external_id=external_customer, defaults=given
        )
        if not new:
            _save_changes(customer, given)
    created = order is None
    if order is None:
        order = Order(external_id=data["external_id"], customer=customer, placed_at=timezone.now())
    values: dict[str, Any] = {"total": data["total"], "currency": data["currency"]}
    # A repost (the shop's retry, an old copy of the order) never moves the status back.
    values["status"] = data["status"] if created else status_after(order.status, data["status"])
    values["placed_at"] = data.get("created_at", order.placed_at)
    # The consent object says it too when the shop sends that instead.
    opt_in = data.get("email_consent", {}).get("granted", order.email_opt_in)
    values["email_opt_in"] = data.get("email_opt_in", opt_in)
    for field in STAMPS.values():
        values[field] = data.get(field, getattr(order, field))
    stamp = STAMPS.get(values["status"])
    if stamp and values[stamp] is None:
        values[stamp] = timezone.now()
    if created:
        for field, value in values.items():
            setattr(order, field, value)
        order.save()
    else:
        _save_changes(order, values)
    if "items" in data:
        _items_replace(order, data["items"], created=created)
    return order, created


def _save_changes(obj: Customer | Order, values: dict[str, Any]) -> None:
    """Set `values` on `obj`, saving the fields that differ (none: no statement)."""
    changed = [field for field, value in values.items() if getattr(obj, field) != value]
    for field in changed:
        setattr(obj, field, values[field])
    if changed:
        obj.save(update_fields=[*changed, "updated_at"])  # auto_now moves only when listed


ITEM_FIELDS = ("sku", "name", "quantity", "price")


def _items_replace(order: Order, items: list[dict[str, Any]], *, created: bool) -> None:
    """The order's items become `items`, in their order; untouched if they are the same."""
    wanted = [tuple(item[f] for f in ITEM_FIELDS) for item in items]  # ItemIn gives each
    if not created:
        if list(order.items.order_by("pk").values_list(*ITEM_FIELDS)) == wanted:
            return
        order.items.all().delete()
    OrderItem.objects.bulk_create(
        OrderItem(order=order, **dict(zip(ITEM_FIELDS, row, strict=True))) for row in wanted
    )


def event_repeat(event: OrderEvent, data: dict[str, Any]) -> OrderEvent:
    """The stored event, if `data` is the same event again; else EventConflict."""
    same = (
        event.type == data["type"]
        and event.order.external_id == data["order_external_id"]
        and event.occurred_at == data["occurred_at"]
        and event.data == data.get("data", {})
    )
    if not same:
        raise EventConflict(event.event_id)
    return event


def status_after(current: str, reported: str) -> str:
    """The order's status once `reported` arrives, in whatever order reports come: only
    forward (created -> paid -> delivered), and cancelled is final."""
    if Order.Status.CANCELLED in (current, reported):
        return Order.Status.CANCELLED
    return max(current, reported, key=PROGRESS.index)


def order_apply(order: Order, event_type: str, at: datetime) -> list[str]:
    """Move `order` (in memory) as the event says; the fields it changed. Events may arrive late
    or out of order: stamps keep the first report, and the status moves as status_after says.
    On PostgreSQL the events API applies the same rule in SQL (event_batches._RECEIVE);
    tests/subscriptions/test_api_event_order_moves.py holds the two to each other."""
    status = EVENT_STATUS[event_type]
    stamp = STAMPS.get(status)
    changed = []
    if stamp and getattr(order, stamp) is None:
        setattr(order, stamp, at)
        changed.append(stamp)
    moved = status_after(order.status, status)
    if moved != order.status:
        order.status = moved
        changed.append("status")
    return changed


def notify_campaigns(event_pk: int) -> None:
    try:
        # One task fires every event stored until it starts: a burst costs one wake-up.
        wake_once(ORDER_EVENT_TASK, args=(event_pk,))
    except Exception:
        # The event is stored; the campaign engine's periodic sweep picks it up later.
        log.exception("order event %s stored but not announced (broker unreachable?)", event_pk)
