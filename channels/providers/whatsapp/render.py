"""How a RichMessage goes out on WhatsApp: the request bodies, within every documented limit
(the provider, provider.py, sends them)."""

import re
from collections.abc import Sequence
from typing import Any

from channels.errors import RejectedByPolicy
from channels.messages import Button, RichMessage, truncate
from channels.providers.base import SendOptions
from channels.providers.meta import (
    PROMPT,
    button_payload,
    button_title,
)

MAX_TEXT, MAX_BODY, MAX_BUTTONS, MAX_TITLE, MAX_ID = 4096, 1024, 3, 20, 256
MAX_ROWS, MAX_ROW_TITLE, MAX_ROW_ID = 10, 24, 200
MAX_TEMPLATE_BUTTONS = 10  # a template has at most ten buttons
LIST_LABEL = "☰"  # the list's button label (<= 20); neutral until messages carry a locale


def _parts(text: str, image: str, buttons: Sequence[Button]) -> list[dict[str, Any]]:
    """The messages for one block of text, image and buttons."""
    if not buttons:
        return _plain(text, image)
    replies = [b for b in buttons if not b.is_url]
    urls = [b for b in buttons if b.is_url]
    listed = urls if replies else urls[1:]  # URL buttons without a place of their own
    links = "\n".join(f"{truncate(b.text, MAX_TITLE)}: {b.url}" for b in listed)
    body = "\n\n".join(t for t in (text, links) if t)
    parts: list[dict[str, Any]] = []
    if len(body) > MAX_BODY:
        parts, body = _plain(text, ""), links
    if len(replies) > MAX_BUTTONS:
        parts += _plain("", image)
        interactive = _list(replies)
    else:
        interactive = _reply_buttons(replies) if replies else _cta_url(urls[0])
        if image:
            interactive["header"] = {"type": "image", "image": {"link": image}}
    interactive["body"] = {"text": truncate(body or PROMPT, MAX_BODY)}
    return [*parts, {"type": "interactive", "interactive": interactive}]


def _plain(text: str, image: str) -> list[dict[str, Any]]:
    parts = []
    if text and (not image or len(text) > MAX_BODY):  # MAX_BODY is also the caption limit
        parts.append({"type": "text", "text": {"body": truncate(text, MAX_TEXT)}})
    if image:
        media = {"link": image, **({"caption": text} if text and not parts else {})}
        parts.append({"type": "image", "image": media})
    return parts


def _reply_buttons(replies: list[Button]) -> dict[str, Any]:
    buttons = [{"type": "reply", "reply": c} for c in _choices(replies, MAX_ID, MAX_TITLE)]
    return {"type": "button", "action": {"buttons": buttons}}


def _list(replies: list[Button]) -> dict[str, Any]:
    rows = _choices(replies[:MAX_ROWS], MAX_ROW_ID, MAX_ROW_TITLE)
    return {"type": "list", "action": {"button": LIST_LABEL, "sections": [{"rows": rows}]}}


def _choices(replies: list[Button], id_limit: int, title_limit: int) -> list[dict[str, str]]:
    """{id, title} of each reply button or list row, every id and title unique."""
    ids = _distinct([button_payload(b, id_limit) for b in replies], id_limit)
    titles = _distinct([button_title(b, title_limit) for b in replies], title_limit)
    return [{"id": i, "title": t} for i, t in zip(ids, titles, strict=True)]


def _distinct(values: list[str], limit: int) -> list[str]:
    """`values` with repeats made unique by " 2", " 3", ... at their end, within `limit`.

    Reply button titles and ids must be unique within a message (interactive reply buttons
    reference), list row ids within the list; a repeated id means a repeated payload, so the
    handler sees the same press, with a suffix, on the second button.
    """
    seen: set[str] = set()
    distinct = []
    for value in values:
        candidate, number = value, 1
        while candidate in seen:
            number += 1
            suffix = f" {number}"
            candidate = truncate(value, limit - len(suffix)) + suffix
        seen.add(candidate)
        distinct.append(candidate)
    return distinct


def _cta_url(button: Button) -> dict[str, Any]:
    parameters = {"display_text": button_title(button, MAX_TITLE), "url": button.url}
    return {"type": "cta_url", "action": {"name": "cta_url", "parameters": parameters}}


def _template(options: SendOptions) -> dict[str, Any]:
    """The approved template with its body parameters and quick-reply payloads.

    Request shape: DOCS + "reference/messages" (template object, components). The template's
    quick-reply buttons are fixed at approval; what we give per send is the payload each one
    returns (index 0, 1, …). Only as many as the campaign names: a button component the
    template lacks makes Meta refuse the whole message.
    """
    if not options.template:
        raise RejectedByPolicy("WhatsApp window closed and no approved template named")
    template: dict[str, Any] = {"name": options.template, "language": {"code": options.language}}
    components: list[dict[str, Any]] = []
    if options.template_params:
        parameters = [{"type": "text", "text": _param(p)} for p in options.template_params]
        components.append({"type": "body", "parameters": parameters})
    for index, text in enumerate(options.template_buttons[:MAX_TEMPLATE_BUTTONS]):
        payload = {"type": "payload", "payload": button_payload(Button("", payload=text), MAX_ID)}
        components.append(
            {"type": "button", "sub_type": "quick_reply", "index": str(index),
             "parameters": [payload]}
        )  # fmt: skip
    if components:
        template["components"] = components
    return {"type": "template", "template": template}


def _param(text: str) -> str:
    """A body parameter as Meta takes it: Meta refuses one that is empty or has new-line or tab
    characters or more than 4 consecutive spaces."""
    flat = re.sub(r" {5,}", "    ", re.sub(r"[\n\t]+", " ", text)).strip()
    return truncate(flat, MAX_BODY) or "-"


def render_message(message: RichMessage, options: SendOptions) -> list[dict[str, Any]]:
    """Cloud API message bodies without the addressee (send() adds `to`)."""
    if options.outside_window:
        return [_template(options)]
    buttons = (*message.buttons, *message.quick_replies)
    text = message.text if message.text.strip() else ""  # blank counts as no text
    parts = _parts(text, message.image_url, buttons)
    for card in message.cards:
        text = "\n".join(t for t in (card.title, card.subtitle) if t.strip())
        parts += _parts(text, card.image_url, card.buttons)
    return parts
