"""The sandbox "platform": turns what the chat page did into a signed webhook delivery."""

import json

from django.conf import settings
from django.http import HttpResponse
from django.utils.module_loading import import_string

from channels.inbound import webhook_receive
from channels.models import ChannelAccount, SandboxMessage
from channels.providers.base import WebhookRequest
from channels.providers.sandbox.provider import SIGNATURE_HEADER, sign

# Events the customer sees in the transcript as their own line; read receipts are silent.
SHOWN_TYPES = {"start", "text", "button"}


def sandbox_event_post(
    *, account: ChannelAccount, conversation: str, event: dict, locale: str = ""
) -> HttpResponse:
    """Record the customer's line, then deliver `event` through the shared inbound path."""
    if event["type"] in SHOWN_TYPES:
        _customer_line_record(account=account, conversation=conversation, event=event)
    payload = {"conversation": conversation, "name": "", "locale": locale, **event}
    body = json.dumps(payload, separators=(",", ":")).encode()
    request = WebhookRequest(
        method="POST",
        body=body,
        headers={
            "content-type": "application/json",
            SIGNATURE_HEADER.lower(): sign(account.webhook_secret, body),
        },
    )
    return webhook_receive(account=account, request=request)


def _customer_line_record(*, account: ChannelAccount, conversation: str, event: dict) -> None:
    # The page retries with the same client id; the line must still appear once.
    lines = SandboxMessage.objects.filter(
        account=account, conversation=conversation, direction=SandboxMessage.Direction.IN
    )
    if lines.filter(body__id=event["id"]).exists():
        return
    body = {key: event[key] for key in ("type", "id", "text", "payload") if key in event}
    if settings.INBOUND_TOKEN_KEPT:
        # The transcript is stored like an inbound event: no deep-link token whole in it.
        kept = import_string(settings.INBOUND_TOKEN_KEPT)
        body = {
            key: kept(value) if isinstance(value, str) else value for key, value in body.items()
        }
    SandboxMessage.objects.create(
        account=account,
        conversation=conversation,
        direction=SandboxMessage.Direction.IN,
        body=body,
    )
