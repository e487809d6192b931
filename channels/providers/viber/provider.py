"""Viber REST Bot API adapter (https://creators.viber.com/docs/bots-api).

Degradations, all within the documented limits: text too long for a picture caption goes out
as a picture followed by a text message; a carousel keeps its first 6 cards, and each card's
buttons are cut to what fits the 7-row group under its image and title; the welcome reply to
`conversation_started` carries a single message (Viber allows one, in the webhook answer); a
reply payload over 252 characters goes in its stable short form (messages.short_payload); a
request over 30 KB has its text cut, and only if the rest is still too big, its last keyboard
buttons and then its last cards dropped (see `_fit`).
"""

import hashlib
import hmac
import json
import logging
from html import escape
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
from channels.messages import Button, Card, RichMessage, short_payload, truncate
from channels.providers.base import (
    Provider,
    Reply,
    SendOptions,
    WebhookRequest,
    Window,
    json_object,
)

log = logging.getLogger(__name__)

# https://creators.viber.com/docs/bots-api/data-models/message (text 7,000; sender.name 28);
# picture caption 512 [3p infobip, courier]; keyboards: 6-column grid, button Text <= 250;
# rich_media: groups of 6 columns x 1-7 rows, <= 6 groups, needs min_api_version 2.
MAX_TEXT = 7000
MAX_CAPTION = 512
MAX_SENDER_NAME = 28
MAX_BUTTON_TEXT = 250
# Not documented: a reply button's ActionBody comes back as the customer's message text. Ours
# are short; longer ones go in their stable short form (messages.short_payload), like VK's.
MAX_ACTION_BODY = 255
# send_message docs: requests up to 30 KB (PLATFORMS.md §3.4), read as 30,000 bytes of the
# compact UTF-8 JSON we send; send() adds "receiver" (ids are ~24 characters) to each part.
MAX_REQUEST_BYTES = 30_000
RECEIVER_ROOM = 100
GRID_COLUMNS = 6
MAX_GROUP_ROWS = 7
MAX_CARDS = 6
RICH_MEDIA_API_VERSION = 2
EMPTY_TEXT = "…"  # a text message may not be empty; used only for a message that is all buttons
SIGNATURE_HEADER = "X-Viber-Content-Signature"
# A reply button sends its ActionBody back as an ordinary text message; this prefix tells a
# button press from a customer typing the same words.
BUTTON_PREFIX = "cb:"
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
        """send_message bodies without `receiver`."""
        parts: list[dict[str, Any]] = []
        text = message.text if message.text.strip() else ""  # blank counts as no text
        if message.image_url:
            caption = text if len(text) <= MAX_CAPTION else ""
            parts.append({"type": "picture", "media": message.image_url, "text": caption})
            text = "" if caption else text
        keyboard = _keyboard(message.buttons, message.quick_replies)
        if text or (keyboard and not parts and not message.cards):
            parts.append({"type": "text", "text": truncate(text, MAX_TEXT) or EMPTY_TEXT})
        if message.cards:
            parts.append(_carousel(message.cards))
        if parts and keyboard:
            parts[-1]["keyboard"] = keyboard
        sender = {"name": truncate(self.account.name, MAX_SENDER_NAME)}
        return [_fit({"sender": sender, **part}, message.cards) for part in parts]

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


# --- rendering helpers ----------------------------------------------------------------------
def _label(text: str, budget: int = MAX_BUTTON_TEXT) -> str:
    """`text` escaped for Viber's HTML button Text and cut to `budget` characters."""
    limit = budget
    while len(escape(cut := truncate(text, limit))) > budget:
        limit -= 1
    return escape(cut)


def _button(button: Button, columns: int = GRID_COLUMNS, rows: int = 1) -> dict[str, Any]:
    base = {"Columns": columns, "Rows": rows, "Text": _label(button.text)}
    if button.is_url:
        return {**base, "ActionType": "open-url", "ActionBody": button.url}
    # Silent: the press is not echoed into the chat as "cb:..." text.
    return {**base, "ActionType": "reply", "ActionBody": action_body(button), "Silent": True}


def action_body(button: Button) -> str:
    """A reply button's ActionBody: our prefix and its payload, long ones in short form."""
    room = MAX_ACTION_BODY - len(BUTTON_PREFIX)
    return BUTTON_PREFIX + short_payload(button.payload or button.text, lambda p: len(p) <= room)


def _keyboard(buttons: tuple[Button, ...], quick: tuple[Button, ...]) -> dict[str, Any] | None:
    """Full-width rows for buttons, quick replies sharing rows of 6 columns below them."""
    items = [_button(button) for button in buttons]
    for start in range(0, len(quick), GRID_COLUMNS):
        row = quick[start : start + GRID_COLUMNS]
        items += [_button(button, columns=GRID_COLUMNS // len(row)) for button in row]
    if not items:
        return None
    return {"Type": "keyboard", "DefaultHeight": False, "Buttons": items}


def _carousel(cards: tuple[Card, ...]) -> dict[str, Any]:
    """rich_media: each card is one 6-column group whose rows add up to ButtonsGroupRows.

    Groups fill the grid in order, so every card must use exactly the same number of rows:
    image (3 rows, if any card has one), title and subtitle (2), one row per button; cards with
    fewer buttons get an empty filler cell.
    """
    cards = cards[:MAX_CARDS]
    image_rows = 3 if any(card.image_url for card in cards) else 0
    text_rows = 2
    button_rows = min(max(len(c.buttons) for c in cards), MAX_GROUP_ROWS - image_rows - text_rows)
    cells: list[dict[str, Any]] = []
    for card in cards:
        if image_rows:
            image = {"Columns": GRID_COLUMNS, "Rows": image_rows, "ActionType": "none"}
            cells.append({**image, "Image": card.image_url} if card.image_url else image)
        title = _label(card.title, 100)
        subtitle = _label(card.subtitle, MAX_BUTTON_TEXT - len(title) - len("<b></b><br>"))
        text = f"<b>{title}</b><br>{subtitle}" if card.subtitle else f"<b>{title}</b>"
        cells.append(
            {"Columns": GRID_COLUMNS, "Rows": text_rows, "ActionType": "none", "Text": text}
        )
        cells += [_button(button) for button in card.buttons[:button_rows]]
        if len(card.buttons) < button_rows:
            filler = button_rows - len(card.buttons)
            cells.append(
                {"Columns": GRID_COLUMNS, "Rows": filler, "ActionType": "none", "Text": ""}
            )
    return {
        "type": "rich_media",
        "min_api_version": RICH_MEDIA_API_VERSION,
        # Shown by clients without rich media support.
        "alt_text": truncate("\n".join(c.title for c in cards if c.title.strip()), MAX_TEXT)
        or EMPTY_TEXT,
        "rich_media": {
            "Type": "rich_media",
            "ButtonsGroupColumns": GRID_COLUMNS,
            "ButtonsGroupRows": image_rows + text_rows + button_rows,
            "BgColor": "#FFFFFF",
            "Buttons": cells,
        },
    }


def encode(body: dict[str, Any]) -> bytes:
    """The request body as sent: compact UTF-8 JSON (escaped non-ASCII would triple its size)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _fits(part: dict[str, Any]) -> bool:
    return len(encode(part)) <= MAX_REQUEST_BYTES - RECEIVER_ROOM


def _fit(part: dict[str, Any], cards: tuple[Card, ...]) -> dict[str, Any]:
    """`part` within the request size: its text gives way first.

    With the text at its minimum, the last keyboard buttons and then the last cards are
    dropped while the rest is still too big; then the text is cut to what room is left.
    """
    if _fits(part):
        return part
    key = "alt_text" if part["type"] == "rich_media" else "text"
    text, floor = part[key], "" if part["type"] == "picture" else EMPTY_TEXT
    part[key] = floor
    while not _fits(part):
        buttons = part.get("keyboard", {}).get("Buttons", [])
        if buttons:
            buttons.pop()
            if not buttons:
                del part["keyboard"]
        elif part["type"] == "rich_media" and len(cards) > 1:
            cards = cards[:-1]
            part.update({**_carousel(cards), key: floor})
        else:
            break  # a single button or card this big is beyond every documented limit
    low, high = -1, len(text) - 1  # the longest cut that fits (the whole text did not)
    while low < high:
        middle = (low + high + 1) // 2
        if _fits({**part, key: truncate(text, middle)}):
            low = middle
        else:
            high = middle - 1
    if low > 0:  # else the floor stays: "…" for a text, no caption under a picture
        part[key] = truncate(text, low)
    log.warning("viber message cut to fit %d bytes", MAX_REQUEST_BYTES)
    return part


PROVIDER = ViberProvider
