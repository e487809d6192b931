"""Delivery and read receipts: stamp delivered_at / read_at on the deliveries they name.

Each stamp is set once (the first receipt wins); a read also means delivered. Platforms name
messages by id, except Messenger, which says "everything up to this time" (a watermark).
"""

import datetime as dt

from django.db.models import QuerySet

from campaigns.models import Delivery
from channels.events import EventKind
from channels.models import InboundEvent


def receipts_record(*, event: InboundEvent) -> int:
    """Apply a DELIVERED or READ event; return how many deliveries it stamped."""
    if event.kind not in (EventKind.DELIVERED, EventKind.READ):
        return 0
    deliveries = Delivery.objects.filter(account_id=event.account_id)
    if event.message_ids:
        # Never "": rows not sent yet have no provider id (and are not in its partial index).
        ids = [str(message_id) for message_id in event.message_ids if message_id]
        matched = deliveries.filter(provider_message_id__in=ids).exclude(provider_message_id="")
    elif event.watermark is not None:
        # Messenger: every message to this person sent up to the watermark has been delivered
        # (or read). developers.facebook.com/docs/messenger-platform/reference/webhook-events/
        # message-reads
        matched = deliveries.filter(
            subscription__platform_user_id=event.platform_user_id,
            sent_at__isnull=False,
            sent_at__lte=event.watermark,
        )
    else:
        return 0
    return _stamp(matched, event.kind, event.watermark or event.occurred_at)


def _stamp(matched: QuerySet[Delivery], kind: str, at: dt.datetime) -> int:
    delivered = matched.filter(delivered_at__isnull=True).update(delivered_at=at)
    if kind != EventKind.READ:
        return delivered
    read = matched.filter(read_at__isnull=True).update(read_at=at)
    return max(delivered, read)
