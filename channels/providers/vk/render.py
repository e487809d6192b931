"""How a RichMessage goes out on VK: the request bodies, within every documented limit
(the provider, provider.py, sends them)."""

import json
from typing import Any

from channels.messages import Button, Card, RichMessage, short_payload, truncate
from channels.providers.base import SendOptions

# messages.send `message` <= 9,000 (VKCOM/vk-api-schema); keyboard and carousel limits from
# https://dev.vk.com/ru/api/bots/development/keyboard: label <= 40, payload <= 255 (JSON),
# inline keyboard <= 10 buttons in <= 6 rows of <= 5; carousel <= 10 elements, title and
# description <= 80, <= 3 buttons each.
MAX_TEXT = 9000
MAX_LABEL = 40
MAX_PAYLOAD = 255
MAX_INLINE_BUTTONS = 10
MAX_INLINE_ROWS = 6
MAX_ROW_BUTTONS = 5
MAX_CARDS = 10
MAX_CARD_TEXT = 80
MAX_CARD_BUTTONS = 3
NO_TEXT = "—"  # carousel elements need a title and description; messages.send a message
# Outside the 24 h window messages.send needs a non-default intent (error 950 otherwise);
# values from VKCOM/vk-api-schema methods.json, chosen per SendOptions.category.
INTENTS = {
    "service": "confirmed_notification",
    "survey": "non_promo_newsletter",
    "marketing": "promo_newsletter",
}


def compact_json(data: Any) -> str:
    """JSON as VK takes it in form fields (keyboard, template, payload): compact, UTF-8 text."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


# --- rendering helpers ----------------------------------------------------------------------
def button_payload(payload: str) -> str:
    """The JSON payload of a text button: {"p": payload}, within 255 characters.

    A payload that does not fit goes in its stable short form (`messages.short_payload`);
    handlers compare with the `p` of `button_payload(expected)`.
    """
    short = short_payload(payload, lambda p: len(compact_json({"p": p})) <= MAX_PAYLOAD)
    return compact_json({"p": short})


def _button(button: Button) -> dict[str, Any]:
    label = truncate(button.text, MAX_LABEL) if button.text.strip() else NO_TEXT
    if button.is_url:
        return {"action": {"type": "open_link", "link": button.url, "label": label}}
    payload = button_payload(button.payload or button.text)
    return {"action": {"type": "text", "label": label, "payload": payload}, "color": "secondary"}


def _keyboard(buttons: tuple[Button, ...], quick: tuple[Button, ...]) -> dict[str, Any] | None:
    """An inline keyboard: a row per button, quick replies 5 to a row; <= 10 buttons, 6 rows."""
    kept = [*buttons, *quick][:MAX_INLINE_BUTTONS]
    if not kept:
        return None
    main, rest = kept[: len(buttons)], kept[len(buttons) :]
    rows = [[b] for b in main] + [
        rest[i : i + MAX_ROW_BUTTONS] for i in range(0, len(rest), MAX_ROW_BUTTONS)
    ]
    if len(rows) > MAX_INLINE_ROWS:  # too many rows: two to a row fits all 10 in 5 rows
        rows = [kept[i : i + 2] for i in range(0, len(kept), 2)]
    return {"inline": True, "buttons": [[_button(b) for b in row] for row in rows]}


def _carousel(cards: tuple[Card, ...]) -> dict[str, Any]:
    cards = cards[:MAX_CARDS]
    count = min(MAX_CARD_BUTTONS, *(len(card.buttons) for card in cards))
    elements = []
    for card in cards:
        element: dict[str, Any] = {
            "title": truncate(card.title, MAX_CARD_TEXT) or NO_TEXT,
            "description": truncate(card.subtitle, MAX_CARD_TEXT) or NO_TEXT,
        }
        if count:
            element["buttons"] = [_button(button) for button in card.buttons[:count]]
        elements.append(element)
    return {"type": "carousel", "elements": elements}


def render_message(message: RichMessage, options: SendOptions) -> list[dict[str, Any]]:
    """The messages.send form fields except access_token, v, peer_id and random_id."""
    text = message.text if message.text.strip() else ""  # blank counts as no text
    if message.image_url:
        room = max(MAX_TEXT - len(message.image_url) - 2, 1)
        text = f"{truncate(text, room)}\n\n{message.image_url}" if text else message.image_url
    fields: dict[str, Any] = {}
    if message.cards:
        fields["template"] = compact_json(_carousel(message.cards))
        text = text or message.cards[0].title or NO_TEXT
    else:
        keyboard = _keyboard(message.buttons, message.quick_replies)
        if keyboard:
            fields["keyboard"] = compact_json(keyboard)
            text = text or NO_TEXT
    if not text:
        return []
    fields["message"] = truncate(text, MAX_TEXT)
    if options.outside_window:
        fields["intent"] = INTENTS.get(options.category, INTENTS["marketing"])
    return [fields]
