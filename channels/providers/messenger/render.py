"""How a RichMessage goes out on Messenger: the request bodies, within every documented limit
(the provider, provider.py, sends them)."""

from typing import Any

from channels.errors import RejectedByPolicy
from channels.messages import Button, Card, RichMessage, truncate
from channels.providers.base import SendOptions
from channels.providers.meta import (
    EMPTY_LABEL,
    PROMPT,
    button_payload,
    button_title,
)

MAX_TEXT, MAX_TEMPLATE_TEXT, MAX_TITLE, MAX_PAYLOAD = 2000, 640, 20, 1000
MAX_BUTTONS, MAX_QUICK_REPLIES, MAX_ELEMENTS, MAX_ELEMENT_TEXT = 3, 13, 10, 80


def _messaging_type(options: SendOptions) -> dict[str, str]:
    """Inside the window: RESPONSE / UPDATE. Outside: only real order updates, by tag.

    Tags may not carry promotion or surveys (Messenger Platform Policy, Message Tags), so a
    closed window refuses anything but the "service" category before any request is made.
    """
    if not options.outside_window:
        return {"messaging_type": "RESPONSE" if options.category == "service" else "UPDATE"}
    if options.category == "service":
        return {"messaging_type": "MESSAGE_TAG", "tag": "POST_PURCHASE_UPDATE"}
    raise RejectedByPolicy(
        f"Messenger window closed: a {options.category} message may not go with a message tag"
    )


def _split_buttons(buttons: tuple[Button, ...]) -> tuple[tuple[Button, ...], tuple[Button, ...]]:
    """(template buttons, postbacks moved to quick replies); URL buttons get template room first."""
    if len(buttons) <= MAX_BUTTONS:
        return buttons, ()
    urls = [i for i, b in enumerate(buttons) if b.is_url][:MAX_BUTTONS]
    postbacks = [i for i, b in enumerate(buttons) if not b.is_url]
    room = MAX_BUTTONS - len(urls)
    keep = sorted(urls + postbacks[:room])
    return tuple(buttons[i] for i in keep), tuple(buttons[i] for i in postbacks[room:])


def _button(button: Button) -> dict[str, str]:
    title = button_title(button, MAX_TITLE)
    if button.is_url:
        return {"type": "web_url", "url": button.url, "title": title}
    return {"type": "postback", "title": title, "payload": button_payload(button, MAX_PAYLOAD)}


def _quick_reply(button: Button) -> dict[str, str]:
    return {
        "content_type": "text",
        "title": button_title(button, MAX_TITLE),
        "payload": button_payload(button, MAX_PAYLOAD),
    }


def _element(card: Card) -> dict[str, Any]:
    # The generic template needs a title: a card without one shows its subtitle there instead.
    title, subtitle = card.title, card.subtitle
    if not title.strip():
        title, subtitle = (subtitle, "") if subtitle.strip() else (EMPTY_LABEL, "")
    element: dict[str, Any] = {"title": truncate(title, MAX_ELEMENT_TEXT)}
    if subtitle.strip():
        element["subtitle"] = truncate(subtitle, MAX_ELEMENT_TEXT)
    if card.image_url:
        element["image_url"] = card.image_url
    if card.buttons:
        element["buttons"] = [_button(b) for b in card.buttons[:MAX_BUTTONS]]
    return element


def _template(**payload: Any) -> dict[str, Any]:
    if "text" in payload:
        payload["text"] = truncate(payload["text"], MAX_TEMPLATE_TEXT)
    return {"attachment": {"type": "template", "payload": payload}}


def render_message(message: RichMessage, options: SendOptions) -> list[dict[str, Any]]:
    """Send API `message` objects with messaging_type; the recipient is added by send()."""
    messaging = _messaging_type(options)
    template_buttons, overflow = _split_buttons(message.buttons)
    text = message.text if message.text.strip() else ""  # blank counts as no text
    template_text = PROMPT
    if template_buttons and text and len(text) <= MAX_TEMPLATE_TEXT:
        text, template_text = "", text
    parts: list[dict[str, Any]] = []
    if text:
        parts.append({"text": truncate(text, MAX_TEXT)})
    if message.image_url:
        parts.append({"attachment": {"type": "image", "payload": {"url": message.image_url}}})
    if template_buttons:
        buttons = [_button(b) for b in template_buttons]
        parts.append(_template(template_type="button", text=template_text, buttons=buttons))
    if message.cards:
        elements = [_element(card) for card in message.cards[:MAX_ELEMENTS]]
        parts.append(_template(template_type="generic", elements=elements))
    quick = [_quick_reply(b) for b in (*message.quick_replies, *overflow) if not b.is_url]
    if quick:
        if not parts:
            parts.append({"text": PROMPT})
        parts[-1]["quick_replies"] = quick[:MAX_QUICK_REPLIES]
    return [{**messaging, "message": part} for part in parts]
