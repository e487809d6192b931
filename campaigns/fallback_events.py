"""Tells the shop a fallback went out (the `fallback.sent` webhook event)."""

from django.db import transaction

from campaigns.models import Delivery
from shopwebhooks.emit import emit
from shopwebhooks.models import EventType


def fallbacks_sent(delivery_ids: list[int]) -> int:
    """One `fallback.sent` event per sent fallback row; how many."""
    rows = Delivery.objects.filter(pk__in=delivery_ids).select_related(
        "account", "subscription__customer", "order", "fallback_of__account"
    )
    with transaction.atomic():
        for row in rows:
            original = row.fallback_of
            emit(
                EventType.FALLBACK_SENT,
                {
                    "delivery_id": row.pk,
                    "campaign_id": row.campaign_id,
                    "customer_external_id": row.subscription.customer.external_id,
                    "order_external_id": row.order.external_id if row.order else None,
                    "channel": row.account.kind,
                    "reason": row.reason,
                    "original_delivery_id": row.fallback_of_id,
                    "original_channel": original.account.kind if original else None,
                    "sent_at": row.sent_at.isoformat() if row.sent_at else None,
                },
            )
    return len(rows)
