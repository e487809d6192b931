"""How a RichMessage goes out on Viber: the request bodies, within every documented limit
(the provider, provider.py, sends them)."""

import json
import logging
from html import escape
from typing import Any

from channels.messages import Button, Card, RichMessage, caption_split, short_payload, truncate

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
# A reply button sends its ActionBody back as an ordinary text message; this prefix tells a
# button press from a customer typing the same words.
BUTTON_PREFIX = "cb:"


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


def render_message(message: RichMessage, sender_name: str) -> list[dict[str, Any]]:
    """send_message bodies without `receiver`: a picture (with the text as its caption when it
    fits), a text, a carousel; the keyboard on the last of them."""
    parts: list[dict[str, Any]] = []
    caption, text = caption_split(message, MAX_CAPTION)
    if message.image_url:
        parts.append({"type": "picture", "media": message.image_url, "text": caption})
    keyboard = _keyboard(message.buttons, message.quick_replies)
    if text or (keyboard and not parts and not message.cards):
        parts.append({"type": "text", "text": truncate(text, MAX_TEXT) or EMPTY_TEXT})
    if message.cards:
        parts.append(_carousel(message.cards))
    if parts and keyboard:
        parts[-1]["keyboard"] = keyboard
    sender = {"name": truncate(sender_name, MAX_SENDER_NAME)}
    return [_fit({"sender": sender, **part}, message.cards) for part in parts]
