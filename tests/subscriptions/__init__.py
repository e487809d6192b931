"""Helpers shared by the subscription tests: inbound events as the webhook path stores them."""

import itertools
from datetime import datetime

from django.utils import timezone

from channels.events import EventKind
from channels.models import ChannelAccount, InboundEvent
from channels.providers.base import Reply
from subscriptions.inbound import handle_event

_ids = itertools.count(1)


def inbound(
    account: ChannelAccount,
    kind: EventKind,
    user: str = "1001",
    *,
    occurred_at: datetime | None = None,
    **fields: str,
) -> InboundEvent:
    """Store an inbound event the way channels.inbound does after verifying a webhook."""
    return InboundEvent.objects.create(
        account=account,
        kind=kind.value,
        platform_user_id=user,
        event_id=f"test-{next(_ids)}",
        occurred_at=occurred_at or timezone.now(),
        **fields,
    )


def receive(account: ChannelAccount, kind: EventKind, user: str = "1001", **fields) -> list[Reply]:
    """Store an inbound event and run our handler on it: the replies it gives."""
    return handle_event(inbound(account, kind, user, **fields))


def start(account: ChannelAccount, token: str, user: str = "1001", **fields) -> list[Reply]:
    return receive(account, EventKind.START, user, token=token, **fields)


def text(account: ChannelAccount, body: str, user: str = "1001", **fields) -> list[Reply]:
    return receive(account, EventKind.TEXT, user, text=body, **fields)


def press(account: ChannelAccount, payload: str, user: str = "1001", **fields) -> list[Reply]:
    return receive(account, EventKind.BUTTON, user, payload=payload, **fields)


def payloads(reply: Reply) -> list[str]:
    return [button.payload for button in reply.message.buttons]
