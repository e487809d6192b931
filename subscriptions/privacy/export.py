"""Access export ("show me what you hold about me"): one JSON document per customer.

Every kind of record that names or concerns the person: the customer, orders with items and
events, chats with their topics, the consent history, every delivery with its state and
reason, survey answers, link clicks, attributions, and the messages their chats sent us.
Values are plain JSON (times ISO 8601 with offset, money as decimal strings), so the document
reads the same in any language.
"""

from datetime import datetime
from typing import Any

from django.db.models import Q
from django.utils import timezone

from campaigns.models import Attribution, Delivery, LinkClick, SurveyAnswer
from channels.models import SANDBOX_KIND, InboundEvent, SandboxMessage
from subscriptions.models import ConsentEvent, Customer, Subscription

FORMAT = "comeback.customer-export/1"


def customer_export(*, customer: Customer) -> dict[str, Any]:
    """Everything held about `customer`, as one JSON-ready dict."""
    subscriptions = list(
        Subscription.objects.filter(customer=customer).select_related("account", "order")
    )
    ids = [subscription.pk for subscription in subscriptions]
    deliveries = Delivery.objects.filter(subscription_id__in=ids).select_related(
        "campaign", "account", "order"
    )
    return {
        "format": FORMAT,
        "exported_at": _time(timezone.now()),
        "customer": _customer(customer),
        "orders": [_order(order) for order in customer.orders.order_by("placed_at", "pk")],
        "chats": [_chat(subscription) for subscription in subscriptions],
        "consent_history": [
            _consent(event)
            for event in ConsentEvent.objects.filter(customer=customer)
            .select_related("subscription__account")
            .order_by("occurred_at", "id")
        ],
        "deliveries": [_delivery(delivery) for delivery in deliveries.order_by("due_at", "pk")],
        "survey_answers": [
            _answer(answer)
            for answer in SurveyAnswer.objects.filter(delivery__subscription_id__in=ids)
            .select_related("order")
            .order_by("answered_at", "pk")
        ],
        "link_clicks": [
            {"delivery": click.delivery_id, "url": click.url, "clicked_at": _time(click.clicked_at)}
            for click in LinkClick.objects.filter(delivery__subscription_id__in=ids).order_by(
                "clicked_at", "pk"
            )
        ],
        "attributions": [
            {
                "order": attribution.order.external_id,
                "delivery": attribution.delivery_id,
                "via": attribution.via,
                "attributed_at": _time(attribution.attributed_at),
            }
            for attribution in Attribution.objects.filter(order__customer=customer)
            .select_related("order")
            .order_by("attributed_at", "pk")
        ],
        "messages": _messages(subscriptions),
    }


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _customer(customer: Customer) -> dict[str, Any]:
    return {
        "external_id": customer.external_id,
        "name": customer.name,
        "email": customer.email,
        "phone": customer.phone,
        "locale": customer.locale,
        "time_zone": customer.time_zone,
        "created_at": _time(customer.created_at),
        "updated_at": _time(customer.updated_at),
        "erased_at": _time(customer.erased_at),
    }


def _order(order: Any) -> dict[str, Any]:
    return {
        "external_id": order.external_id,
        "status": order.status,
        "total": str(order.total),
        "currency": order.currency,
        "placed_at": _time(order.placed_at),
        "paid_at": _time(order.paid_at),
        "delivered_at": _time(order.delivered_at),
        "cancelled_at": _time(order.cancelled_at),
        "items": [
            {
                "sku": item.sku,
                "name": item.name,
                "quantity": item.quantity,
                "price": str(item.price),
            }
            for item in order.items.order_by("pk")
        ],
        "events": [
            {
                "event_id": event.event_id,
                "type": event.type,
                "occurred_at": _time(event.occurred_at),
                "data": event.data,
            }
            for event in order.events.order_by("occurred_at", "pk")
        ],
    }


def _chat(subscription: Subscription) -> dict[str, Any]:
    return {
        "channel": subscription.account.name,
        "kind": subscription.account.kind,
        "platform_user_id": subscription.platform_user_id,
        "status": subscription.status,
        "topics": subscription.topics(),
        "source": subscription.source,
        "attribution": subscription.attribution,
        "locale": subscription.locale,
        "order": subscription.order.external_id if subscription.order else None,
        "subscribed_at": _time(subscription.subscribed_at),
        "unsubscribed_at": _time(subscription.unsubscribed_at),
        "last_message_at": _time(subscription.last_inbound_at),
    }


def _consent(event: ConsentEvent) -> dict[str, Any]:
    subscription = event.subscription
    return {
        "occurred_at": _time(event.occurred_at),
        "channel": subscription.account.name if subscription else None,
        "kind": event.kind,
        "source": event.source,
        "evidence": event.evidence,
        "topics": event.topics,
    }


def _delivery(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.pk,
        "campaign": delivery.campaign.name,
        "channel": delivery.account.name,
        "occurrence": delivery.occurrence,
        "order": delivery.order.external_id if delivery.order else None,
        "state": delivery.state,
        "reason": delivery.reason,
        "due_at": _time(delivery.due_at),
        "sent_at": _time(delivery.sent_at),
        "delivered_at": _time(delivery.delivered_at),
        "read_at": _time(delivery.read_at),
        "clicked_at": _time(delivery.clicked_at),
        "answered_at": _time(delivery.answered_at),
    }


def _answer(answer: SurveyAnswer) -> dict[str, Any]:
    return {
        "delivery": answer.delivery_id,
        "order": answer.order.external_id if answer.order else None,
        "score": answer.score,
        "comment": answer.comment,
        "items": answer.items,
        "answered_at": _time(answer.answered_at),
    }


def _messages(subscriptions: list[Subscription]) -> list[dict[str, Any]]:
    """What the person's chats sent us (inbound events) and the sandbox conversation."""
    chats, sandbox = Q(pk__in=[]), Q(pk__in=[])
    for subscription in subscriptions:
        chat = Q(account_id=subscription.account_id)
        chats |= chat & Q(platform_user_id=subscription.platform_user_id)
        if subscription.account.kind == SANDBOX_KIND:
            sandbox |= chat & Q(conversation=subscription.platform_user_id)
    lines = [
        {
            "channel": event.account.name,
            "direction": "in",
            "kind": event.kind,
            "occurred_at": _time(event.occurred_at),
            "text": event.text,
            "payload": event.payload,
        }
        for event in InboundEvent.objects.filter(chats).select_related("account")
    ]
    lines += [
        {
            "channel": message.account.name,
            "direction": message.direction,
            "kind": "sandbox",
            "occurred_at": _time(message.created_at),
            "body": message.body,
        }
        for message in SandboxMessage.objects.filter(sandbox).select_related("account")
    ]
    return sorted(lines, key=lambda line: line["occurred_at"] or "")
