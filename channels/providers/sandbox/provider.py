"""Sandbox adapter: a messenger of our own (the web chat at /sandbox/) for demos and tests.

The "platform" is our own sandbox views and the SandboxMessage table: the chat page posts to a
sandbox view, which signs a platform payload and hands it to the shared inbound path, exactly as
a real platform's webhook would arrive. Sending is a row insert the page polls for.
"""

import hashlib
import hmac
import logging
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.urls import reverse
from django.utils import timezone

from channels.errors import MalformedPayload
from channels.events import EventKind, NormalizedEvent
from channels.messages import RichMessage
from channels.providers.base import (
    Provider,
    Reply,
    SendOptions,
    WebhookRequest,
    Window,
    json_object,
)
from channels.providers.sandbox.render import render_message

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Sandbox-Signature"
DEFAULT_ACCOUNT = "sandbox"
MAX_CONVERSATION = 64  # SandboxMessage.conversation

# The sandbox body's "type" -> normalized kind. Documented by this module: the platform is ours.
KINDS = {
    "start": EventKind.START,
    "text": EventKind.TEXT,
    "button": EventKind.BUTTON,
    "read": EventKind.READ,
}


def sign(secret: str, body: bytes) -> str:
    """The X-Sandbox-Signature of `body`: hex HMAC-SHA256 keyed by the account's secret."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class SandboxProvider(Provider):
    kind = "sandbox"
    label = "Sandbox (web chat)"
    credential_keys = ()
    required_credentials = ()
    secret_credentials = ()
    api_base_setting = ""
    default_rate_limit = 100.0
    per_recipient_interval = 0.0
    window = Window(hours=None)
    delivery_receipts = True
    sends_over_http = False  # it writes our database
    read_receipts = True
    start_is_explicit = False  # the chat page posts its start when a link opens it

    def deep_link(self, token: str) -> str:
        query = {"start": token}
        if self.account.name != DEFAULT_ACCOUNT:
            query["account"] = self.account.name
        return f"{settings.PUBLIC_BASE_URL}{reverse('channels:sandbox')}?{urlencode(query)}"

    def verify(self, request: WebhookRequest) -> bool:
        expected = sign(self.account.webhook_secret, request.body)
        return self.secrets_match(request.header(SIGNATURE_HEADER), expected)

    def parse(self, request: WebhookRequest) -> list[NormalizedEvent]:
        body = json_object(request)
        conversation = _string(body, "conversation", required=True)
        if len(conversation) > MAX_CONVERSATION:
            raise MalformedPayload(f"conversation longer than {MAX_CONVERSATION} characters")
        kind = KINDS.get(_string(body, "type", required=True))
        if kind is None:
            raise MalformedPayload(f"unknown type {body['type']!r}")
        client_id = _string(body, "id", required=True)
        ids = body.get("message_ids", [])
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise MalformedPayload("message_ids is not a list of strings")
        event = NormalizedEvent(
            kind=kind,
            platform_user_id=conversation,
            event_id=f"{conversation}:{client_id}",
            occurred_at=timezone.now(),
            text=_string(body, "text", required=kind == EventKind.TEXT),
            token=_string(body, "token"),
            payload=_string(body, "payload", required=kind == EventKind.BUTTON),
            message_ids=tuple(ids) if kind == EventKind.READ else (),
            user_name=_string(body, "name"),
            locale=_string(body, "locale"),
            raw=body,
        )
        return [event]

    def answers_inline(self, events: list[NormalizedEvent]) -> bool:
        return True  # the chat page shows the answer's replies; it works without a worker

    def respond(
        self, events: list[NormalizedEvent], replies: list[Reply]
    ) -> tuple[HttpResponse, list[Reply]]:
        # The platform is our own database: send now, so replies appear without a Celery worker.
        sent = [self.send(reply.platform_user_id, reply.message) for reply in replies]
        return JsonResponse({"ok": True, "sent": sent}), []

    def render(self, message: RichMessage, options: SendOptions) -> list[dict[str, Any]]:
        return render_message(message, options)

    def send_part(self, recipient: str, part: dict[str, Any], options: SendOptions) -> str:
        from channels.models import SandboxMessage  # models import the provider registry

        row = SandboxMessage.objects.create(
            account=self.account,
            conversation=recipient,
            direction=SandboxMessage.Direction.OUT,
            body=part,
        )
        return str(row.pk)

    def register_webhook(self, url: str) -> None:
        # Our own views post to the inbound path directly; there is no platform to tell.
        log.info("sandbox account %s: no webhook to register (%s)", self.account.name, url)


def _string(body: dict[str, Any], key: str, *, required: bool = False) -> str:
    value = body.get(key, "")
    if not isinstance(value, str):
        raise MalformedPayload(f"{key} is not a string")
    if required and not value:
        raise MalformedPayload(f"{key} is missing")
    return value


PROVIDER = SandboxProvider
