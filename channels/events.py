"""The normalized vocabulary every provider parses its webhooks into."""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class EventKind(StrEnum):
    START = "start"  # the customer opened a deep link (token may be empty)
    TEXT = "text"  # a typed message
    BUTTON = "button"  # a reply button / quick reply / postback pressed (payload)
    DELIVERED = "delivered"  # receipt: message_ids or watermark
    READ = "read"  # receipt: message_ids or watermark
    BLOCKED = "blocked"  # blocked the bot or unsubscribed on the platform (reason says which)
    RESUBSCRIBED = "resubscribed"  # unblocked / subscribed again on the platform
    UNKNOWN = "unknown"  # verified but of no interest; stored for the record


@dataclass(frozen=True)
class NormalizedEvent:
    kind: EventKind
    platform_user_id: str
    # Unique per account for this platform event: redelivery of the same update is a no-op.
    event_id: str
    occurred_at: datetime
    text: str = ""
    token: str = ""
    payload: str = ""
    message_ids: tuple[str, ...] = ()
    # Meta receipts cover "everything sent up to this time" instead of naming messages.
    watermark: datetime | None = None
    reason: str = ""
    user_name: str = ""
    locale: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
