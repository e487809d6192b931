"""Viber REST Bot API adapter (https://creators.viber.com/docs/bots-api).

Degradations, all within the documented limits: text too long for a picture caption goes out
as a picture followed by a text message; a carousel keeps its first 6 cards, and each card's
buttons are cut to what fits the 7-row group under its image and title; the welcome reply to
`conversation_started` carries a single message (Viber allows one, in the webhook answer); a
reply payload over 252 characters goes in its stable short form (messages.short_payload); a
request over 30 KB has its text cut, and only if the rest is still too big, its last keyboard
buttons and then its last cards dropped (render.py).
"""

import hashlib
import hmac
import logging
from typing import Any
from urllib.parse import quote

from django.http import HttpResponse, JsonResponse
from django.utils import timezone

from channels.errors import (
    ConfigurationError,
    MalformedPayload,
    RecipientGone,
    RejectedByPolicy,
    RetryAfter,
    SendError,
    Transient,
)
from channels.events import EventKind, NormalizedEvent, platform_id, unix_time
from channels.http import json_or_empty
from channels.messages import RichMessage
from channels.providers.base import (
    Provider,
    Reply,
    SendOptions,
    WebhookRequest,
    Window,
    json_object,
)
from channels.providers.viber.render import (
    BUTTON_PREFIX,
    encode,
    render_message,
)

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Viber-Content-Signature"
EVENT_TYPES = ["delivered", "seen", "failed", "subscribed", "unsubscribed", "conversation_started"]
# Status 12 gives no delay. It is both the API's rate control and the cap of 100 unanswered
# messages per user per hour; 10 s covers the first without parking the account for long on
# the second (the dispatcher's retry limit ends hopeless retries to one user).
RATE_RETRY_SECONDS = 10.0

# https://creators.viber.com/docs/bots-api/callbacks — "message" is refined in `_message`,
# "webhook" (the set_webhook check) yields no event, anything else is UNKNOWN.
EVENT_KINDS = {
    "conversation_started": EventKind.START,
    "message": EventKind.TEXT,
    "subscribed": EventKind.RESUBSCRIBED,
    "unsubscribed": EventKind.BLOCKED,
    "delivered": EventKind.DELIVERED,
    "seen": EventKind.READ,
    "failed": EventKind.UNKNOWN,
}
RECEIPTS = ("delivered", "seen", "failed")  # one message_token per message, shared by its receipts

# https://creators.viber.com/docs/bots-api/errors (send_message `status`; HTTP is always 200):
# 1 invalid webhook URL, 2 invalid auth token, 10 no webhook, 15 not authorized; 3 bad data,
# 4 missing data, 13/14 min_api_version conflicts; 5 not registered, 6 not subscribed, 7 blocked,
# 8 no such account, 9 suspended, 11 unsupported device; 12 rate control (in `_call`).
# 21 (destination country unsupported) refuses this customer only: not configuration.
# 23/24 (free out-of-session quota used up / no balance) stop every campaign send until someone
# pays: ConfigurationError parks the account instead of failing its audience one by one.
STATUS_ERRORS: dict[int, type[SendError]] = {
    **dict.fromkeys((1, 2, 10, 15, 23, 24), ConfigurationError),
    **dict.fromkeys((3, 4, 13, 14, 21), RejectedByPolicy),
    **dict.fromkeys((5, 6, 7, 8, 9, 11), RecipientGone),
}


class ViberProvider(Provider):
    kind = "viber"
    label = "Viber"
    credential_keys = ("auth_token", "uri")
    required_credentials = ("auth_token", "uri")
    secret_credentials = ("auth_token",)
    api_base_setting = "VIBER_API_BASE"
    default_rate_limit = 50.0
    per_recipient_interval = 0.0
    window = Window(hours=None)
    delivery_receipts = True
    read_receipts = True
    start_is_explicit = False  # conversation_started fires whenever the chat is opened

    def deep_link(self, token: str) -> str:
        """https://creators.viber.com/docs/bots-api/deep-links"""
        uri = quote(self.credential("uri"), safe="")
        return f"viber://pa?chatURI={uri}&context={quote(token, safe='')}"

    # --- webhooks in --------------------------------------------------------------------------
    def verify(self, request: WebhookRequest) -> bool:
        key = self.credential("auth_token").encode()
        if not key:  # an HMAC with an empty key proves nothing
            return False
        expected = hmac.new(key, request.body, hashlib.sha256).hexdigest()
        return self.secrets_match(request.header(SIGNATURE_HEADER).lower(), expected)

    def parse(self, request: WebhookRequest) -> list[NormalizedEvent]:
        body = json_object(request)
        name = body.get("event")
        token = body.get("message_token")
        if not isinstance(name, str) or not (token or isinstance(body.get("timestamp"), int)):
            raise MalformedPayload("no event name, message_token or timestamp")
        if name == "webhook":
            return []
        user = body.get("user") or body.get("sender") or {}
        user = user if isinstance(user, dict) else {}
        user_id = platform_id(user.get("id")) or platform_id(body.get("user_id"))
        if not user_id and name in EVENT_KINDS:
            raise MalformedPayload(f"{name} event without a user id")
        event_id = f"{name}:{token}" if token else f"{name}:{user_id}:{body['timestamp']}"
        fields: dict[str, Any] = {}
        kind = EVENT_KINDS.get(name, EventKind.UNKNOWN)
        if name in RECEIPTS:
            event_id += f":{user_id}"  # one broadcast message_token reaches many users
            fields["message_ids"] = (str(token),)
        if name == "conversation_started":
            fields["token"] = str(body.get("context") or "")
        elif name == "message":
            kind, fields = _message(body.get("message"))
        elif name == "unsubscribed":
            fields["reason"] = "unsubscribed"
        elif name == "failed":
            fields["reason"] = str(body.get("desc", ""))
        return [
            NormalizedEvent(
                kind=kind,
                platform_user_id=user_id,
                event_id=event_id,
                # Viber timestamps are milliseconds.
                occurred_at=unix_time(body.get("timestamp"), per_second=1000) or timezone.now(),
                user_name=str(user.get("name", "")),
                locale=str(user.get("language", "")),
                raw=body,
                **fields,
            )
        ]

    def answers_inline(self, events: list[NormalizedEvent]) -> bool:
        return any(event.raw.get("event") == "conversation_started" for event in events)

    def respond(
        self, events: list[NormalizedEvent], replies: list[Reply]
    ) -> tuple[HttpResponse, list[Reply]]:
        """Put the reply to `conversation_started` into the webhook answer.

        The customer is not subscribed yet, so send_message would fail; Viber accepts exactly
        one welcome message as the answer's JSON body (without `receiver`).
        """
        opened = {
            e.platform_user_id: e for e in events if e.raw.get("event") == "conversation_started"
        }
        welcome: dict[str, Any] | None = None
        to_send: list[Reply] = []
        for reply in replies:
            event = opened.get(reply.platform_user_id)
            if event is None or (welcome is not None and event.raw.get("subscribed") is True):
                to_send.append(reply)
            elif welcome is None:
                welcome = self._welcome(reply.message) or {}
            else:
                log.warning("viber allows one welcome message; dropped a reply to %s", event)
        if not welcome:
            return super().respond(events, to_send)
        return JsonResponse(welcome), to_send

    def _welcome(self, message: RichMessage) -> dict[str, Any] | None:
        parts = self.render(message, SendOptions())
        if not parts:
            return None
        welcome = dict(parts[0])
        if "keyboard" in parts[-1]:  # Viber shows the keyboard of the latest message
            welcome["keyboard"] = parts[-1]["keyboard"]
        if len(parts) > 1:
            log.warning("viber welcome message cut to its first of %d parts", len(parts))
        return welcome

    # --- messages out -------------------------------------------------------------------------
    def render(self, message: RichMessage, options: SendOptions) -> list[dict[str, Any]]:
        """send_message bodies without `receiver` (render.py)."""
        return render_message(message, self.account.name)

    def send_part(self, recipient: str, part: dict[str, Any], options: SendOptions) -> str:
        answer = self._call("send_message", {"receiver": recipient, **part})
        return str(answer.get("message_token", ""))

    def register_webhook(self, url: str) -> None:
        params = {"url": url, "event_types": EVENT_TYPES, "send_name": True, "send_photo": False}
        try:
            self._call("set_webhook", params)
        except (ConfigurationError, RecipientGone, RejectedByPolicy) as exc:
            raise ConfigurationError(f"set_webhook refused: {exc.reason}", code=exc.code) from exc

    def _call(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        headers = {
            "X-Viber-Auth-Token": self.credential("auth_token"),
            "Content-Type": "application/json",
        }
        response = self.session.post(
            f"{self.api_base}/pa/{method}", body=encode(body), headers=headers
        )
        answer = json_or_empty(response)
        if response.status_code >= 500:
            raise Transient(
                f"HTTP {response.status_code}", maybe_sent=False, code=response.status_code
            )
        if response.status_code == 429:
            raise RetryAfter("HTTP 429", seconds=RATE_RETRY_SECONDS, code=429)
        if response.status_code != 200:  # Viber answers 200 to everything it understood
            raise ConfigurationError(f"HTTP {response.status_code} from {method}")
        status = answer.get("status")
        if status == 0:
            return answer
        reason = str(answer.get("status_message") or f"status {status}")
        if not isinstance(status, int):
            raise Transient(f"unreadable answer to {method}", maybe_sent=True)
        if status == 12:
            raise RetryAfter(reason, seconds=RATE_RETRY_SECONDS, code=status)
        raise STATUS_ERRORS.get(status, RejectedByPolicy)(reason, code=status)


def _message(message: Any) -> tuple[EventKind, dict[str, Any]]:
    """A customer's message: our reply button's ActionBody, typed text, or something else."""
    message = message if isinstance(message, dict) else {}
    text = message.get("text")
    if message.get("type") != "text" or not isinstance(text, str):
        return EventKind.UNKNOWN, {"reason": f"{message.get('type', 'unknown')} message"}
    if text.startswith(BUTTON_PREFIX):
        return EventKind.BUTTON, {"payload": text[len(BUTTON_PREFIX) :], "text": text}
    return EventKind.TEXT, {"text": text}


PROVIDER = ViberProvider
