"""The one call the rest of the code makes to tell the shop something happened."""

from typing import Any

from shopwebhooks.models import EventType, ShopEvent


def emit(event_type: EventType | str, data: dict[str, Any]) -> ShopEvent:
    """Record the event (inside the caller's transaction, so a rolled-back change tells nobody).

    `data` must be JSON: ids, not model instances.
    """
    return ShopEvent.objects.create(type=EventType(event_type), data=data)
