"""Facebook Messenger adapter: m.me deep links, Page webhooks, the Send API.

Docs: https://developers.facebook.com/documentation/business-messaging/messenger-platform/
Degradations (limits from send-messages/templates, quick-replies, buttons):
- text over 2,000 characters is cut with an ellipsis;
- an image goes as its own attachment message, after the text (or before the button template
  that carries the text, when there are buttons);
- buttons become a button template (1-3 buttons); beyond three, URL buttons are kept in the
  template first, extra postback buttons become quick replies and extra URL buttons are dropped;
  a text over 640 characters goes as its own message before the template;
- quick replies beyond 13, URL quick replies (Messenger has none), carousel cards beyond 10 and
  card buttons beyond 3 are dropped; a card without a title shows its subtitle (or "…") as one;
- a blank text counts as none; a button without a label shows its payload (or "…"); a payload
  over 1,000 characters, or an empty one, goes in its stable short form (messages.short_payload).
"""

from typing import Any
from urllib.parse import quote

from channels.errors import (
    ConfigurationError,
    RecipientGone,
    RejectedByPolicy,
    RetryAfter,
    Transient,
)
from channels.events import EventKind, NormalizedEvent, platform_id
from channels.messages import RichMessage
from channels.providers.base import SendOptions, WebhookRequest, Window
from channels.providers.messenger.render import render_message
from channels.providers.meta import (
    GRAPH_ERRORS,
    RATE_LIMIT_PAUSE,
    ErrorTable,
    MetaProvider,
    Rule,
    event,
    meta_time,
    other_node,
    unknown,
)

DOCS = "https://developers.facebook.com/docs/messenger-platform/reference/webhook-events/"
# Messaging item field -> kind; the parser refines it (see _refine).
MESSAGING_KINDS: dict[str, EventKind] = {
    # DOCS + "messages": quick_reply -> BUTTON, is_echo -> UNKNOWN; an attachment without text
    # is still the customer writing (it opens the window): TEXT with empty text.
    "message": EventKind.TEXT,
    "postback": EventKind.BUTTON,  # DOCS + "messaging_postbacks": with referral.ref -> START
    "referral": EventKind.START,  # DOCS + "messaging_referrals": m.me link, existing thread
    "delivery": EventKind.DELIVERED,  # DOCS + "message-deliveries": mids + watermark (ms)
    "read": EventKind.READ,  # DOCS + "message-reads": watermark (ms)
    "optin": EventKind.UNKNOWN,  # DOCS + "messaging_optins": see OPTIN_KINDS
}
# optin.notification_messages_status of Marketing Messages (docs: .../marketing-messages).
OPTIN_KINDS: dict[str, tuple[EventKind, str]] = {
    "STOP_NOTIFICATIONS": (EventKind.MARKETING_STOPPED, "stopped marketing messages"),
    "RESUME_NOTIFICATIONS": (EventKind.MARKETING_RESUMED, "resumed marketing messages"),
}

# Source: https://developers.facebook.com/documentation/business-messaging/messenger-platform/error-codes
MESSENGER_ERRORS: ErrorTable = {
    **GRAPH_ERRORS,
    # Code 2 is the Graph API's "service temporarily unavailable"; the error-codes page (link
    # above) only says it *possibly* means the customer blocked the business (PLATFORMS.md §2.3).
    # Losing a subscriber to an outage cannot be undone, so code 2 stays Transient (GRAPH_ERRORS)
    # unless it carries 1545041, the subcode of "This person isn't available right now".
    (2, 1545041): Rule(RecipientGone, "blocked by the customer"),
    (551, None): Rule(RecipientGone, "this person isn't available right now"),
    (200, 1545041): Rule(RecipientGone, "this person isn't available right now"),
    (10, 2018278): Rule(RejectedByPolicy, "outside the 24 h messaging window"),
    # A restricted Page can send nothing: pause the whole account until the Page is cleared.
    (10, 1893063): Rule(ConfigurationError, "the Page is restricted from messaging"),
    (9, 2018352): Rule(RetryAfter, "marketing messages limit reached", RATE_LIMIT_PAUSE),
    (4, 2018354): Rule(RetryAfter, "marketing messages frequency cap", RATE_LIMIT_PAUSE),
    (1200, None): Rule(Transient, "temporary send message failure"),
}

SUBSCRIBED_FIELDS = (
    "messages,messaging_postbacks,messaging_referrals,message_deliveries,message_reads,"
    "messaging_optins"
)


class MessengerProvider(MetaProvider):
    kind = "messenger"
    label = "Facebook Messenger"
    credential_keys = ("page_id", "page_token", "app_secret", "verify_token", "page_username")
    required_credentials = ("page_id", "page_token", "app_secret", "verify_token")
    secret_credentials = ("page_token", "app_secret", "verify_token")
    default_rate_limit = 300.0
    per_recipient_interval = 0.0
    window = Window(hours=24, outside="tags")
    delivery_receipts = True
    read_receipts = True
    graph_errors = MESSENGER_ERRORS
    start_is_explicit = False  # a referral fires when an m.me link merely opens the thread

    def deep_link(self, token: str) -> str:
        page = self.credential("page_username") or self.credential("page_id")
        return f"https://m.me/{quote(page)}?ref={quote(token, safe='')}"

    # --- webhooks in --------------------------------------------------------------------------
    def parse(self, request: WebhookRequest) -> list[NormalizedEvent]:
        obj, entries = self.envelope(request)
        if obj != "page":
            return [unknown("", {"object": obj, "entry": entries}, f"object {obj!r}, not page")]
        events = []
        for entry in entries:
            for item in _items(entry):
                if other_node(entry.get("id"), self.credential("page_id")):
                    events.append(unknown("", item, f"for page {entry.get('id')}"))
                else:
                    events.append(_event(item))
        return events

    # --- messages out -------------------------------------------------------------------------
    def render(self, message: RichMessage, options: SendOptions) -> list[dict[str, Any]]:
        """Send API `message` objects with messaging_type; the recipient is added by send()."""
        return render_message(message, options)

    @property
    def node(self) -> str:
        return self.credential("page_id")

    def auth(self) -> tuple[dict[str, str], dict[str, str]]:
        return {"access_token": self.credential("page_token")}, {}

    def address(self, recipient: str, payload: dict[str, Any]) -> dict[str, Any]:
        return {"recipient": {"id": recipient}, **payload}

    def message_id(self, body: dict[str, Any]) -> str:
        return str(body.get("message_id", ""))

    def subscription_params(self) -> dict[str, str]:
        return {"subscribed_fields": SUBSCRIBED_FIELDS}


def _items(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """An entry's messaging items: `messaging[]`, or `changes[].value` as the App Dashboard's
    test button sends them (github.com/Yoctol/bottender/issues/138)."""
    messaging, changes = entry.get("messaging") or [], entry.get("changes") or []
    if not isinstance(messaging, list) or not isinstance(changes, list):
        return [entry]  # not a shape we know: one UNKNOWN event keeps it on record
    values = [c.get("value") for c in changes if isinstance(c, dict)]
    return [item for item in (*messaging, *values) if isinstance(item, dict)]


def _event(item: dict[str, Any]) -> NormalizedEvent:
    sender = item.get("sender") if isinstance(item.get("sender"), dict) else {}
    user = platform_id(sender.get("id")) or platform_id(sender.get("user_ref"))
    field = next((f for f in MESSAGING_KINDS if isinstance(item.get(f), dict)), None)
    if field is None:
        return unknown(user, item)
    data = item[field]
    if field == "message" and data.get("is_echo"):
        return unknown(user, item, "echo of a message the page sent")
    kind, fields = _refine(field, data)
    stamp = data.get("watermark") or item.get("timestamp")
    event_id = str(data.get("mid") or f"{kind}:{user}:{stamp}")
    return event(kind, user, event_id, item.get("timestamp"), item, **fields)


def _refine(field: str, data: dict[str, Any]) -> tuple[EventKind, dict[str, Any]]:
    """The kind and event fields of one messaging item."""
    kind = MESSAGING_KINDS[field]
    if field == "message":
        reply = data.get("quick_reply")
        payload = str(reply.get("payload", "")) if isinstance(reply, dict) else ""
        text = str(data.get("text") or "")
        return (EventKind.BUTTON if payload else kind), {"text": text, "payload": payload}
    if field == "postback":
        ref, payload = _ref(data.get("referral")), str(data.get("payload") or "")
        text = str(data.get("title") or "")
        return (EventKind.START if ref else kind), {"token": ref, "payload": payload, "text": text}
    if field == "referral":
        return kind, {"token": _ref(data)}
    if field in ("delivery", "read"):
        mids = data.get("mids") if isinstance(data.get("mids"), list) else []
        watermark = meta_time(data.get("watermark"))
        return kind, {"message_ids": tuple(map(str, mids)), "watermark": watermark}
    kind, reason = OPTIN_KINDS.get(str(data.get("notification_messages_status")), (kind, ""))
    return kind, {"reason": reason}


def _ref(referral: Any) -> str:
    return str(referral.get("ref") or "") if isinstance(referral, dict) else ""


PROVIDER = MessengerProvider
