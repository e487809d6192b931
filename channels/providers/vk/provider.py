"""VK community messages adapter: Callback API in, messages.send out (https://dev.vk.com/ru).

Degradations, all within the documented limits: text over 9,000 characters is cut with an
ellipsis; an image (VK wants an uploaded attachment, not a URL) becomes its URL at the end of
the text, so VK shows a link preview; an inline keyboard keeps its first 10 buttons; a carousel
keeps 10 cards, drops card images (same reason) and trims every card to the smallest button
count among them (VK wants all elements alike); with a carousel, message-level buttons are
dropped; a button payload whose JSON would exceed 255 characters gets a stable short form.
"""

import hashlib
import json
import secrets
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.http import HttpResponse
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
from channels.events import EventKind, NormalizedEvent, unix_time
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
from channels.providers.vk.render import (
    compact_json,
    render_message,
)

CALLBACK_EVENTS = ("message_new", "message_event", "message_allow", "message_deny", "message_read")

# https://dev.vk.com/ru/api/community-events/json-schema — Callback API type -> kind;
# message_new is refined in `_message_new`; any other type (group_join, message_reply, ...)
# is UNKNOWN.
EVENT_KINDS = {
    "message_new": EventKind.TEXT,
    "message_event": EventKind.BUTTON,
    "message_deny": EventKind.BLOCKED,
    "message_allow": EventKind.RESUBSCRIBED,
    "message_read": EventKind.READ,
}

# https://dev.vk.com/ru/reference/errors (codes as in VKCOM/vk-api-schema errors.json).
# Flood errors give no delay: 6 is per second, 9 ("flood control") is per action and takes
# longer to clear, 29 is a method's quota, which VK counts per day. 10 (internal) in `_call`.
RETRY_SECONDS = {6: 1.0, 9: 60.0, 29: 3600.0}
ERRORS: dict[int, type[SendError]] = {
    # 5 bad token, 7 community messages off / token without scope, 15 access denied,
    # 27 group authorization failed
    **dict.fromkeys((5, 7, 15, 27), ConfigurationError),
    # 900 blacklisted us, 901 no permission to message, 902 privacy settings
    **dict.fromkeys((900, 901, 902), RecipientGone),
    # 100 invalid parameter, 911 invalid keyboard, 914 message too long; 943 intent not
    # allowed, 944 intent limit, 950 outside the window without intent; 985 notifications
    # only, 987/988 message request pending/rejected
    **dict.fromkeys((100, 911, 914, 943, 944, 950, 985, 987, 988), RejectedByPolicy),
}


def random_id(idempotency_key: str) -> int:
    """messages.send random_id: VK answers a repeated one with the first message's id.

    A positive int32 hashed from the delivery's key, so a retry of the same delivery is
    deduplicated by VK; random when there is no key (0 would switch the check off).
    """
    if not idempotency_key:
        return secrets.randbelow(2**31 - 1) + 1
    digest = hashlib.sha256(idempotency_key.encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF or 1


class VkProvider(Provider):
    kind = "vk"
    label = "VK"
    credential_keys = ("group_id", "token", "secret", "confirmation", "screen_name")
    required_credentials = ("group_id", "token", "secret", "confirmation")
    secret_credentials = ("token", "secret")
    api_base_setting = "VK_API_BASE"
    default_rate_limit = 20.0
    per_recipient_interval = 0.0
    window = Window(hours=24, outside="intent")
    read_receipts = True
    idempotent_sends = True  # messages.send random_id (https://dev.vk.com/ru/method/messages.send)

    def deep_link(self, token: str) -> str:
        """https://dev.vk.com/ru/api/bots/getting-started (vk.me links with ref)"""
        name = self.credential("screen_name") or f"club{self.credential('group_id')}"
        return f"https://vk.me/{name}?ref={quote(token, safe='')}&ref_source=comeback"

    # --- webhooks in --------------------------------------------------------------------------
    def handshake(self, request: WebhookRequest) -> HttpResponse | None:
        """Answer the Callback API's confirmation request with the confirmation code."""
        body = request.decoded[0]
        if body is None or body.get("type") != "confirmation":
            return None
        if not self._ours(body) or ("secret" in body and not self._secret_ok(body)):
            return HttpResponse("forbidden", status=403)
        return HttpResponse(self.credential("confirmation"), content_type="text/plain")

    def verify(self, request: WebhookRequest) -> bool:
        body = request.decoded[0]
        return body is not None and self._secret_ok(body) and self._ours(body)

    def _ours(self, body: dict[str, Any]) -> bool:
        return str(body.get("group_id", "")) == self.credential("group_id")

    def _secret_ok(self, body: dict[str, Any]) -> bool:
        return self.secrets_match(str(body.get("secret", "")), self.credential("secret"))

    def parse(self, request: WebhookRequest) -> list[NormalizedEvent]:
        body = json_object(request)
        name, obj = body.get("type"), body.get("object")
        if not isinstance(name, str) or not isinstance(obj, dict):
            raise MalformedPayload("no event type or object")
        message = obj.get("message") if isinstance(obj.get("message"), dict) else {}
        user = _customer(obj, message)
        if user is None and name in EVENT_KINDS:
            raise MalformedPayload(f"{name} event without a user id")
        raw = {key: value for key, value in body.items() if key != "secret"}  # never stored
        fields: dict[str, Any] = {}
        kind = EVENT_KINDS.get(name, EventKind.UNKNOWN)
        if name == "message_new":
            kind, fields = _message_new(message)
        elif name == "message_event":
            fields["payload"] = _payload(obj.get("payload"))
        elif name == "message_allow":
            fields["token"] = str(obj.get("key") or "")
        elif name == "message_deny":
            fields["reason"] = "denied messages from the community"
        elif name == "message_read":
            fields["message_ids"] = (str(obj.get("read_message_id", "")),)
        return [
            NormalizedEvent(
                kind=kind,
                platform_user_id=str(user or ""),
                event_id=str(body.get("event_id") or _fallback_event_id(name, user, obj)),
                occurred_at=unix_time(message.get("date")) or timezone.now(),
                raw=raw,
                **fields,
            )
        ]

    def respond(
        self, events: list[NormalizedEvent], replies: list[Reply]
    ) -> tuple[HttpResponse, list[Reply]]:
        """VK pauses the server unless every event is answered with exactly "ok"."""
        return HttpResponse("ok", content_type="text/plain"), replies

    # --- messages out -------------------------------------------------------------------------
    def render(self, message: RichMessage, options: SendOptions) -> list[dict[str, Any]]:
        """The messages.send form fields except access_token, v, peer_id and random_id."""
        return render_message(message, options)

    def send_part(self, recipient: str, part: dict[str, Any], options: SendOptions) -> str:
        # render() gives one part: the random_id below dedupes a whole delivery's retry.
        fields = {"peer_id": recipient, "random_id": random_id(options.idempotency_key), **part}
        return str(self._call("messages.send", fields))

    def register_webhook(self, url: str) -> None:
        """Add (or reuse) our Callback API server and subscribe it to the message events."""
        group, secret = self.credential("group_id"), self.credential("secret")
        try:
            # Reuse our server: VK keeps at most 10 per community, connect_channel may rerun.
            listed = self._call("groups.getCallbackServers", {"group_id": group})
            servers = listed.get("items", []) if isinstance(listed, dict) else []
            ours = [s for s in servers if (s.get("url"), s.get("secret_key")) == (url, secret)]
            server_id = ours[0]["id"] if ours else None
            if server_id is None:
                params = {"group_id": group, "url": url, "title": "comeback", "secret_key": secret}
                server_id = self._call("groups.addCallbackServer", params)["server_id"]
            events = dict.fromkeys(CALLBACK_EVENTS, 1)
            version = settings.VK_API_VERSION  # the events' shape too (object.message: >= 5.103)
            params = {"group_id": group, "server_id": server_id, "api_version": version, **events}
            self._call("groups.setCallbackSettings", params)
        except (ConfigurationError, RecipientGone, RejectedByPolicy) as exc:
            raise ConfigurationError(f"VK refused: {exc.reason}", code=exc.code) from exc

    def _call(self, method: str, params: dict[str, Any]) -> Any:
        form = {"access_token": self.credential("token"), "v": settings.VK_API_VERSION, **params}
        response = self.session.post(f"{self.api_base}/method/{method}", form=form)
        if response.status_code >= 500:
            raise Transient(
                f"HTTP {response.status_code}", maybe_sent=False, code=response.status_code
            )
        if response.status_code == 429:
            raise RetryAfter("HTTP 429", seconds=RETRY_SECONDS[6], code=429)
        body = json_or_empty(response)
        if "response" in body:
            return body["response"]
        error = body.get("error") if isinstance(body.get("error"), dict) else {}
        code = error.get("error_code")
        if not isinstance(code, int):  # VK answers 200 with JSON to anything it understood
            raise Transient(
                f"unreadable answer to {method}", maybe_sent=True, code=response.status_code
            )
        reason = str(error.get("error_msg") or f"error {code}")
        if code in RETRY_SECONDS:
            raise RetryAfter(reason, seconds=RETRY_SECONDS[code], code=code)
        if code == 10:  # internal server error; random_id makes a retry safe even if it was sent
            raise Transient(reason, maybe_sent=True, code=code)
        raise ERRORS.get(code, RejectedByPolicy)(reason, code=code)


def _customer(obj: dict[str, Any], message: dict[str, Any]) -> Any:
    """The customer's id: the first positive of the fields events use (negative = a community)."""
    for value in (
        obj.get("user_id"),
        message.get("from_id"),
        obj.get("from_id"),
        obj.get("peer_id"),
    ):
        if isinstance(value, int) and value > 0:
            return value
    return None


def _fallback_event_id(name: str, user: Any, obj: dict[str, Any]) -> str:
    """For bodies without event_id (older API versions): type, user and a hash of the object."""
    digest = hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]
    return f"{name}:{user or ''}:{digest}"


def _decoded(raw: Any) -> Any:
    """A button payload as VK sends it (a JSON string, or an object already), decoded."""
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None


def _payload(raw: Any) -> str:
    """Our {"p": "..."} payload's string, else the payload as VK sent it (as a string)."""
    data = _decoded(raw)
    if isinstance(data, dict) and isinstance(data.get("p"), str):
        return data["p"]
    return raw if isinstance(raw, str) else compact_json(raw)


def _message_new(message: dict[str, Any]) -> tuple[EventKind, dict[str, Any]]:
    """A deep link (ref) or the Start button, one of our buttons, or typed text."""
    text = str(message.get("text", ""))
    if message.get("ref"):
        return EventKind.START, {"token": str(message["ref"]), "text": text}
    raw = message.get("payload")
    if not raw:
        return EventKind.TEXT, {"text": text}
    data = _decoded(raw)
    if isinstance(data, dict) and data.get("command") == "start":
        return EventKind.START, {"text": text}
    return EventKind.BUTTON, {"payload": _payload(raw), "text": text}


PROVIDER = VkProvider
