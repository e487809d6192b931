"""How a RichMessage goes out on Telegram: the request bodies, within every documented limit
(the provider, provider.py, sends them)."""

from typing import Any

from channels.messages import Button, Card, RichMessage, caption_split, short_payload, truncate
from channels.providers.base import SendOptions

# https://core.telegram.org/bots/api#sendmessage (text 1-4096), #sendphoto (caption 0-1024),
# #inlinekeyboardbutton (callback_data 1-64 *bytes*).
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_BYTES = 64
# Not in the Bot API docs: clients show at most 8 buttons in a row [3p], so quick replies wrap.
MAX_ROW_BUTTONS = 8
EMPTY_TEXT = "…"  # Telegram refuses an empty text; used only for a message that is all buttons


def callback_data(payload: str) -> str:
    """`payload` as callback_data (1-64 bytes): itself if it fits, else its stable short form
    (`channels.messages.short_payload`); handlers compare with `callback_data(expected)`."""
    return short_payload(payload, lambda data: len(data.encode()) <= MAX_CALLBACK_BYTES)


# --- rendering helpers ----------------------------------------------------------------------
def _button(button: Button) -> dict[str, str]:
    text = button.text if button.text.strip() else EMPTY_TEXT  # Telegram refuses a blank label
    if button.is_url:
        return {"text": text, "url": button.url}
    return {"text": text, "callback_data": callback_data(button.payload or button.text)}


def _keyboard(buttons: tuple[Button, ...], quick: tuple[Button, ...]) -> dict[str, Any] | None:
    """One row per button (labels stay readable), quick replies side by side below them."""
    rows = [[_button(button)] for button in buttons]
    for start in range(0, len(quick), MAX_ROW_BUTTONS):
        rows.append([_button(button) for button in quick[start : start + MAX_ROW_BUTTONS]])
    return {"inline_keyboard": rows} if rows else None


def _card(card: Card) -> dict[str, Any]:
    text = "\n".join(part for part in (card.title, card.subtitle) if part.strip()) or EMPTY_TEXT
    if card.image_url:
        part = {
            "method": "sendPhoto",
            "photo": card.image_url,
            "caption": truncate(text, MAX_CAPTION),
        }
    else:
        part = {"method": "sendMessage", "text": truncate(text, MAX_TEXT)}
    keyboard = _keyboard(card.buttons, ())
    if keyboard:
        part["reply_markup"] = keyboard
    return part


def render_message(message: RichMessage, options: SendOptions) -> list[dict[str, Any]]:
    """Bot API calls, each {"method": ..., **parameters} without chat_id."""
    parts: list[dict[str, Any]] = []
    caption, text = caption_split(message, MAX_CAPTION)
    if message.image_url:
        parts.append({"method": "sendPhoto", "photo": message.image_url, "caption": caption})
    keyboard = _keyboard(message.buttons, message.quick_replies)
    if text or (keyboard and not parts and not message.cards):
        parts.append({"method": "sendMessage", "text": truncate(text, MAX_TEXT) or EMPTY_TEXT})
    if parts and keyboard:
        parts[-1]["reply_markup"] = keyboard
    cards = [_card(card) for card in message.cards]
    if cards and keyboard and not parts:  # cards only: the message's buttons go last
        rows = cards[-1].setdefault("reply_markup", {"inline_keyboard": []})["inline_keyboard"]
        rows.extend(keyboard["inline_keyboard"])
    return parts + cards
