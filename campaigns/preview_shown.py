"""What a customer sees on each platform, read back from the request bodies its adapter renders.

The preview draws these bubbles, not the message as written: a label cut to Messenger's 20
characters, a fourth button moved to quick replies, WhatsApp's list menu or a link folded into
the text, Viber's keyboard under the message all show as the platform would show them. Each
request is one bubble (an image sent apart from its text is its own bubble).
"""

import json
from typing import Any

Bubble = dict[str, Any]  # text, image_url, buttons [{text, url}], quick_replies [text], cards, menu


def shown(kind: str, body: Any) -> list[Bubble]:
    """The bubbles `body` (a request, or the list of requests, to `kind`'s API) shows."""
    requests = body if isinstance(body, list) else [body]
    read = READERS.get(kind, _sandbox)
    return [bubble for request in requests if isinstance(request, dict) for bubble in read(request)]


def _bubble(text: str = "", image_url: str = "", **more: Any) -> Bubble:
    return {"text": text or "", "image_url": image_url or "", "buttons": [], "quick_replies": [],
            "cards": [], **more}  # fmt: skip


def _button(text: str, url: str = "") -> dict[str, str]:
    return {"text": text, "url": url}


def _telegram(request: dict) -> list[Bubble]:
    """https://core.telegram.org/bots/api#sendmessage, #sendphoto"""
    bubble = _bubble(request.get("text") or request.get("caption"), request.get("photo", ""))
    rows = (request.get("reply_markup") or {}).get("inline_keyboard") or []
    bubble["buttons"] = [_button(b.get("text", ""), b.get("url", "")) for row in rows for b in row]
    return [bubble]


def _messenger(request: dict) -> list[Bubble]:
    """https://developers.facebook.com/docs/messenger-platform/send-messages/templates"""
    message = request.get("message") or {}
    attachment = message.get("attachment") or {}
    payload = attachment.get("payload") or {}
    bubble = _bubble(message.get("text", ""))
    if attachment.get("type") == "image":
        bubble["image_url"] = payload.get("url", "")
    elif payload.get("template_type") == "button":
        bubble["text"] = payload.get("text", "")
        bubble["buttons"] = [_messenger_button(b) for b in payload.get("buttons", [])]
    elif payload.get("template_type") == "generic":
        bubble["cards"] = [
            {
                "title": element.get("title", ""),
                "subtitle": element.get("subtitle", ""),
                "image_url": element.get("image_url", ""),
                "buttons": [_messenger_button(b) for b in element.get("buttons", [])],
            }
            for element in payload.get("elements", [])
        ]
    bubble["quick_replies"] = [q.get("title", "") for q in message.get("quick_replies", [])]
    return [bubble]


def _messenger_button(button: dict) -> dict[str, str]:
    return _button(button.get("title", ""), button.get("url", ""))


def _viber(request: dict) -> list[Bubble]:
    """https://developers.viber.com/docs/api/rest-bot-api/#message-types"""
    bubble = _bubble(request.get("text", ""), request.get("media", ""))
    if request.get("type") == "rich_media":
        bubble["text"] = ""
        bubble["cards"] = _viber_cards((request.get("rich_media") or {}).get("Buttons", []))
    keys = (request.get("keyboard") or {}).get("Buttons", [])
    bubble["buttons"] = [_viber_button(b) for b in keys]
    return [bubble]


def _viber_button(button: dict) -> dict[str, str]:
    url = button.get("ActionBody", "") if button.get("ActionType") == "open-url" else ""
    return _button(_plain(button.get("Text", "")), url)


def _viber_cards(buttons: list[dict]) -> list[dict]:
    """A rich media message is a grid: each card starts with its image cell (three rows, empty
    without an image), then a text cell with its title, then its buttons."""
    cards: list[dict] = []
    for cell in buttons:
        if cell.get("Rows") == 3 or not cards:
            cards.append({"title": "", "subtitle": "", "image_url": "", "buttons": []})
        card = cards[-1]
        if cell.get("Image"):
            card["image_url"] = cell["Image"]
        elif cell.get("ActionType") == "none" and cell.get("Text"):
            title, _, subtitle = _plain(cell["Text"], lines=True).partition("\n")
            card["title"], card["subtitle"] = title, subtitle
        elif cell.get("ActionType") not in (None, "none"):
            card["buttons"].append(_viber_button(cell))
    return cards


def _plain(markup: str, *, lines: bool = False) -> str:
    text = markup.replace("<br>", "\n" if lines else " ")
    for tag in ("<b>", "</b>", "<i>", "</i>", "<u>", "</u>"):
        text = text.replace(tag, "")
    return text


def _vk(request: dict) -> list[Bubble]:
    """https://dev.vk.com/ru/api/bots/development/keyboard, .../messages/carousel"""
    bubble = _bubble(request.get("message", ""))
    keyboard = _json(request.get("keyboard"))
    bubble["buttons"] = [
        _vk_button(button) for row in keyboard.get("buttons", []) for button in row
    ]
    template = _json(request.get("template"))
    bubble["cards"] = [
        {
            "title": element.get("title", ""),
            "subtitle": element.get("description", ""),
            "image_url": "",
            "buttons": [_vk_button(b) for b in element.get("buttons", [])],
        }
        for element in template.get("elements", [])
    ]
    return [bubble]


def _vk_button(button: dict) -> dict[str, str]:
    action = button.get("action") or {}
    return _button(action.get("label", ""), action.get("link", ""))


def _json(value: Any) -> dict:
    if isinstance(value, str) and value:
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def _whatsapp(request: dict) -> list[Bubble]:
    """https://developers.facebook.com/docs/whatsapp/cloud-api/messages/interactive-messages"""
    kind = request.get("type")
    if kind == "text":
        return [_bubble((request.get("text") or {}).get("body", ""))]
    if kind == "image":
        return [_bubble(image_url=(request.get("image") or {}).get("link", ""))]
    if kind == "template":
        name = (request.get("template") or {}).get("name", "")
        return [_bubble(f"[approved template “{name}”]")]
    interactive = request.get("interactive") or {}
    header = interactive.get("header") or {}
    bubble = _bubble(
        (interactive.get("body") or {}).get("text", ""),
        (header.get("image") or {}).get("link", ""),
    )
    action = interactive.get("action") or {}
    if interactive.get("type") == "button":
        bubble["buttons"] = [_button(b["reply"].get("title", "")) for b in action["buttons"]]
    elif interactive.get("type") == "cta_url":
        parameters = action.get("parameters") or {}
        bubble["buttons"] = [_button(parameters.get("display_text", ""), parameters.get("url", ""))]
    elif interactive.get("type") == "list":
        rows = [row for section in action.get("sections", []) for row in section.get("rows", [])]
        bubble["menu"] = {"label": action.get("button", ""), "rows": [r["title"] for r in rows]}
    return [bubble]


def _sandbox(request: dict) -> list[Bubble]:
    bubble = _bubble(request.get("text", ""), request.get("image_url", ""))
    bubble["buttons"] = [
        _button(b.get("text", ""), b.get("url", "")) for b in request.get("buttons", [])
    ]
    bubble["quick_replies"] = [q.get("text", "") for q in request.get("quick_replies", [])]
    bubble["cards"] = request.get("cards", [])
    return [bubble]


def _email(request: dict) -> list[Bubble]:
    """channels/providers/email/render.py: the subject above the text; every link a button."""
    links = request.get("links") or []
    bubble = _bubble(f"Subject: {request.get('subject', '')}\n\n{request.get('body', '')}")
    bubble["buttons"] = [_button(link.get("text", ""), link.get("href", "")) for link in links]
    return [bubble]


def _sms(request: dict) -> list[Bubble]:
    """channels/providers/sms/render.py: the text as it goes, and what it costs in segments."""
    return [
        _bubble(
            request.get("text", ""),
            segments=request.get("segments", 0),
            encoding=request.get("encoding", ""),
        )
    ]


READERS = {
    "telegram": _telegram,
    "sms": _sms,
    "email": _email,
    "messenger": _messenger,
    "viber": _viber,
    "vk": _vk,
    "whatsapp": _whatsapp,
    "sandbox": _sandbox,
}
