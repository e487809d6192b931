"""The one call the rest of the code makes to tell the shop something happened."""

from typing import Any

from django.db import transaction

from config.wakeups import wake_once
from shopwebhooks.models import Endpoint, EventType, ShopEvent, WebhookDelivery

DELIVER_TASK = "shopwebhooks.deliver"


def emit(event_type: EventType | str, data: dict[str, Any]) -> ShopEvent:
    """Record the event and a delivery for each endpoint that wants it, inside the caller's
    transaction (a rolled-back change tells nobody); the workers are woken once it commits.

    `data` must be JSON: ids and values, never model instances or secrets.
    """
    event = ShopEvent.objects.create(type=EventType(event_type), data=data)
    endpoints = [e for e in Endpoint.objects.filter(enabled=True) if e.wants(event.type)]
    if endpoints:
        WebhookDelivery.objects.bulk_create(
            WebhookDelivery(event=event, endpoint=e, next_attempt_at=event.occurred_at)
            for e in endpoints
        )
        # robust: a broker outage must not fail the caller; the beat sweep finds the rows.
        transaction.on_commit(lambda: wake_once(DELIVER_TASK), robust=True)
    return event
