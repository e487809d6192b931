"""The normalized vocabulary every provider parses its webhooks into."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

MAX_CLOCK_AHEAD = timedelta(days=1)  # see unix_time


class EventKind(StrEnum):
    START = "start"  # the customer opened a deep link (token may be empty)
    TEXT = "text"  # a typed message
    BUTTON = "button"  # a reply button / quick reply / postback pressed (payload)
    DELIVERED = "delivered"  # receipt: message_ids or watermark
    READ = "read"  # receipt: message_ids or watermark
    BLOCKED = "blocked"  # blocked the bot or unsubscribed on the platform (reason says which)
    RESUBSCRIBED = "resubscribed"  # unblocked / subscribed again on the platform
    # Marketing only: the customer still gets service messages (WhatsApp user_preferences,
    # Messenger's Marketing Messages opt-in).
    MARKETING_STOPPED = "marketing_stopped"
    MARKETING_RESUMED = "marketing_resumed"
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


def unix_time(value: Any, *, per_second: int = 1) -> datetime | None:
    """A platform's Unix timestamp (`per_second` = 1000 for milliseconds) as an aware datetime.

    None when it is not a whole number, lies outside what a datetime holds (a signed body can
    say `"date": 10**14`) or is more than a day ahead of our clock (no platform's clock runs
    that far ahead, and a year-9999 "last message" would keep a window open for ever and
    overflow the arithmetic on it): the caller uses the time of receipt instead.
    """
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    try:
        moment = datetime.fromtimestamp(value / per_second, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return None if moment > datetime.now(tz=UTC) + MAX_CLOCK_AHEAD else moment


def platform_id(value: Any) -> str:
    """A user or object id as platforms send it (a string or a whole number), else ""."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return ""
