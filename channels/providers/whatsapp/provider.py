"""WhatsApp Cloud API adapter: wa.me links with a subscribe code, WABA webhooks, messages.

Docs: https://developers.facebook.com/documentation/business-messaging/whatsapp/
Degradations (limits from the messages reference and interactive messages pages):
- outside the 24 h window only the approved template named in options.template goes, with
  options.template_params as its body parameters and options.template_buttons as the payloads
  of its quick-reply buttons (so a survey template is answered like the survey); nothing else
  of the message is sent;
- text over 4,096 characters is cut with an ellipsis; a text too long for a caption or an
  interactive body (1,024) goes as its own text message first;
- quick replies become reply buttons (WhatsApp has no separate kind);
- 1-3 reply buttons: a reply-button message; 4 or more: a list (rows beyond 10 dropped);
- URL buttons: the first becomes a cta_url message when there are no reply buttons; every other
  URL button is listed as a "title: url" line in the body;
- a list cannot carry an image header, so the image goes as its own message before it;
- carousel: one message per card (its image, title and subtitle, and its buttons as above);
- reply buttons and list rows get unique titles and ids (a repeat ends in " 2", " 3", ...); a
  payload over the id limit, or an empty one, goes in its stable short form.
"""

import re
from typing import Any
from urllib.parse import quote

from channels.errors import (
    ConfigurationError,
    MalformedPayload,
    RecipientGone,
    RejectedByPolicy,
    RetryAfter,
    Transient,
)
from channels.events import EventKind, NormalizedEvent, platform_id
from channels.messages import RichMessage
from channels.providers.base import SendOptions, WebhookRequest, Window
from channels.providers.meta import (
    GRAPH_ERRORS,
    RATE_LIMIT_PAUSE,
    ErrorTable,
    MetaProvider,
    Rule,
    as_int,
    event,
    other_node,
    stable_id,
    unknown,
)
from channels.providers.whatsapp.render import render_message

DOCS = "https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/"
# messages[].type -> kind (DOCS + "reference/messages"); the parser refines text -> START when it
# carries our subscribe code. A media message is still the customer writing: TEXT (caption).
MESSAGE_KINDS: dict[str, EventKind] = {
    "text": EventKind.TEXT,
    "interactive": EventKind.BUTTON,  # button_reply / list_reply: payload = id
    "button": EventKind.BUTTON,  # template quick-reply button: payload = button.payload
    **dict.fromkeys(("image", "video", "audio", "document", "sticker"), EventKind.TEXT),
}
# statuses[].status -> kind (DOCS + "reference/messages/status"); "sent" is only on record.
STATUS_KINDS: dict[str, EventKind] = {"delivered": EventKind.DELIVERED, "read": EventKind.READ}
# A failed status with one of these error codes means the customer opted out.
FAILED_OPT_OUTS: dict[int, str] = {131050: "user stopped marketing messages"}
# user_preferences[].value (DOCS + "reference/user_preferences").
PREFERENCE_KINDS: dict[str, tuple[EventKind, str]] = {
    "stop": (EventKind.MARKETING_STOPPED, "stopped marketing messages"),
    "resume": (EventKind.MARKETING_RESUMED, "resumed marketing messages"),
}

# Source: https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes
WHATSAPP_ERRORS: ErrorTable = {
    **GRAPH_ERRORS,
    (131026, None): Rule(RecipientGone, "message undeliverable"),
    # Marketing only: this send is skipped, service messages still reach them (the status
    # webhook's 131050 turns their marketing topics off).
    (131050, None): Rule(RejectedByPolicy, "user stopped marketing messages"),
    (131047, None): Rule(RejectedByPolicy, "re-engagement: window closed, a template is needed"),
    (131049, None): Rule(RejectedByPolicy, "not delivered to keep the ecosystem healthy"),
    (132001, None): Rule(RejectedByPolicy, "template does not exist in this language"),
    (131009, None): Rule(RejectedByPolicy, "parameter value is not valid"),
    # Meta gives no figures: 6 s is its documented pair rate (1 message / 6 s to one user); spam
    # limits follow quality ratings and lift over hours, so pause a quarter of an hour.
    (131048, None): Rule(RetryAfter, "spam rate limit hit", 900.0),
    (131056, None): Rule(RetryAfter, "pair rate limit hit: too many messages to this user", 6.0),
    (130429, None): Rule(RetryAfter, "throughput limit reached", 1.0),
    (80007, None): Rule(RetryAfter, "business account rate limit reached", RATE_LIMIT_PAUSE),
    (131031, None): Rule(ConfigurationError, "business account locked"),
    (131005, None): Rule(ConfigurationError, "access denied"),
    (131042, None): Rule(ConfigurationError, "business eligibility payment issue"),
    (133010, None): Rule(ConfigurationError, "phone number not registered"),
    (131000, None): Rule(Transient, "something went wrong"),
}

ADDRESSING = {"messaging_product": "whatsapp", "recipient_type": "individual"}

SUBSCRIBE_KEYWORD = "Subscribe"
_CODE = r"[A-Za-z0-9_-]{20,64}"
SUBSCRIBE_CODE = re.compile(rf"\bsubscribe(?:\s*:\s*|\s+)({_CODE})(?![\w-])", re.IGNORECASE)
BARE_CODE = re.compile(rf"\s*({_CODE})\s*")


def subscribe_code(text: str) -> str:
    """The token in "Subscribe: <token>" (the wa.me prefill), or a token sent on its own."""
    match = SUBSCRIBE_CODE.search(text) or BARE_CODE.fullmatch(text)
    return match.group(1) if match else ""


class WhatsAppProvider(MetaProvider):
    kind = "whatsapp"
    label = "WhatsApp"
    # waba_id: the WhatsApp Business Account the app subscribes to for webhooks.
    credential_keys = (
        "phone_number_id", "token", "app_secret", "verify_token", "phone", "waba_id",
    )  # fmt: skip
    required_credentials = ("phone_number_id", "token", "app_secret", "verify_token", "phone")
    webhook_credentials = ("waba_id",)
    secret_credentials = ("token", "app_secret", "verify_token")
    default_rate_limit = 80.0
    per_recipient_interval = 6.0
    window = Window(hours=24, outside="template")
    delivery_receipts = True
    read_receipts = True
    user_ids_are_phones = True  # wa_id: digits of the phone number
    graph_errors = WHATSAPP_ERRORS

    def deep_link(self, token: str) -> str:
        digits = re.sub(r"\D", "", self.credential("phone"))
        return f"https://wa.me/{digits}?text={quote(f'{SUBSCRIBE_KEYWORD}: {token}', safe='')}"

    # --- webhooks in --------------------------------------------------------------------------
    def parse(self, request: WebhookRequest) -> list[NormalizedEvent]:
        obj, entries = self.envelope(request)
        if obj != "whatsapp_business_account":
            return [unknown("", {"object": obj, "entry": entries}, f"object {obj!r}")]
        events = []
        for entry in entries:
            changes = entry.get("changes") if isinstance(entry.get("changes"), list) else [entry]
            for change in (c for c in changes if isinstance(c, dict)):
                events.extend(self._change(change))
        return events

    def _change(self, change: dict[str, Any]) -> list[NormalizedEvent]:
        value = change.get("value") if isinstance(change.get("value"), dict) else {}
        metadata = value.get("metadata") if isinstance(value.get("metadata"), dict) else {}
        number = metadata.get("phone_number_id")
        if other_node(number, self.credential("phone_number_id")):
            return [unknown("", change, f"for phone number id {number}")]
        contacts = _dicts(value, "contacts")
        events = [_message(m, contacts) for m in _dicts(value, "messages")]
        events += [_status(s) for s in _dicts(value, "statuses")]
        events += [_preference(p) for p in _dicts(value, "user_preferences")]
        return events or [unknown("", change, f"field {change.get('field')!r}")]

    # --- messages out -------------------------------------------------------------------------
    def render(self, message: RichMessage, options: SendOptions) -> list[dict[str, Any]]:
        """Cloud API message bodies without the addressee (send() adds `to`)."""
        return render_message(message, options)

    @property
    def node(self) -> str:
        return self.credential("phone_number_id")

    @property
    def subscription_node(self) -> str:
        # Meta subscribes apps on the WhatsApp Business Account (POST /<WABA_ID>/subscribed_apps,
        # "Webhooks" in the Cloud API docs); a phone number id has no such edge.
        waba_id = self.credential("waba_id")
        if not waba_id:
            raise ConfigurationError("registering the webhook needs the waba_id credential")
        return waba_id

    def auth(self) -> tuple[dict[str, str], dict[str, str]]:
        return {}, {"Authorization": f"Bearer {self.credential('token')}"}

    def address(self, recipient: str, payload: dict[str, Any]) -> dict[str, Any]:
        return {**ADDRESSING, "to": recipient, **payload}

    def message_id(self, body: dict[str, Any]) -> str:
        messages = body.get("messages")
        first = messages[0] if isinstance(messages, list) and messages else {}
        return str(first.get("id", "")) if isinstance(first, dict) else ""


def _dicts(value: dict[str, Any], key: str) -> list[dict[str, Any]]:
    items = value.get(key)
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def _message(msg: dict[str, Any], contacts: list[dict[str, Any]]) -> NormalizedEvent:
    phone, bsuid = platform_id(msg.get("from")), platform_id(msg.get("from_user_id"))
    keys = {phone, bsuid} - {""}
    same = [
        c for c in contacts if keys & {platform_id(c.get("wa_id")), platform_id(c.get("user_id"))}
    ]
    contact = same[0] if same else contacts[0] if len(contacts) == 1 else {}
    # Business-scoped user ids (BSUID) replace phone numbers for username users from 2026.
    user = bsuid or platform_id(contact.get("user_id")) or phone
    if not user:
        raise MalformedPayload("a message without a sender (from / from_user_id)")
    kind_name = str(msg.get("type"))
    kind, text, payload = MESSAGE_KINDS.get(kind_name, EventKind.UNKNOWN), "", ""
    content = msg.get(kind_name) if isinstance(msg.get(kind_name), dict) else {}
    if kind_name == "interactive":
        reply = content.get("button_reply") or content.get("list_reply")
        reply = reply if isinstance(reply, dict) else {}
        kind = kind if reply else EventKind.UNKNOWN  # e.g. a flow's nfm_reply
        payload, text = str(reply.get("id") or ""), str(reply.get("title") or "")
    elif kind_name == "button":
        payload, text = str(content.get("payload") or ""), str(content.get("text") or "")
    elif kind is EventKind.TEXT:
        text = str(content.get("body") or content.get("caption") or "")
    token = subscribe_code(text) if kind_name == "text" else ""
    profile = contact.get("profile") if isinstance(contact.get("profile"), dict) else {}
    event_id = str(msg.get("id") or stable_id("message", msg))
    name = str(profile.get("name") or "")
    fields = {"text": text, "token": token, "payload": payload, "user_name": name}
    kind = EventKind.START if token else kind
    return event(kind, user, event_id, msg.get("timestamp"), msg, **fields)


def _status(status: dict[str, Any]) -> NormalizedEvent:
    state, wamid = str(status.get("status")), str(status.get("id") or "")
    kind, reason = STATUS_KINDS.get(state, EventKind.UNKNOWN), ""
    errors = status.get("errors") if isinstance(status.get("errors"), list) else []
    if state == "failed" and errors and isinstance(errors[0], dict):
        code = as_int(errors[0].get("code"))
        reason = f"{code}: {errors[0].get('title') or errors[0].get('message') or 'failed'}"
        if code in FAILED_OPT_OUTS:
            kind, reason = EventKind.MARKETING_STOPPED, FAILED_OPT_OUTS[code]
    user = platform_id(status.get("recipient_user_id")) or platform_id(status.get("recipient_id"))
    ids, stamp = ((wamid,) if wamid else ()), status.get("timestamp")
    event_id = f"status:{wamid}:{state}"
    return event(kind, user, event_id, stamp, status, message_ids=ids, reason=reason)


def _preference(preference: dict[str, Any]) -> NormalizedEvent:
    value, category = str(preference.get("value")), preference.get("category")
    user = platform_id(preference.get("user_id")) or platform_id(preference.get("wa_id"))
    kind, reason = PREFERENCE_KINDS.get(value, (EventKind.UNKNOWN, ""))
    if category not in (None, "marketing_messages"):
        kind, reason = EventKind.UNKNOWN, ""
    stamp = preference.get("timestamp")
    event_id = f"preference:{user}:{category}:{value}:{stamp}"
    return event(kind, user, event_id, stamp, preference, reason=reason)


PROVIDER = WhatsAppProvider
