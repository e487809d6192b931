"""The message builder's checks: a campaign's content, slot by slot, against the platform
limits the providers' renderers apply, so a marketer hears about a cut before saving.

Each provider module states its limits (MAX_TEXT, MAX_TITLE, ...). They are read from there, so
a limit changes in one place; a limit a module no longer states falls back to the documented
figure below.
"""

import importlib
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from channels.providers import PROVIDERS

# Slots a content dict may have: the default message and one per channel kind.
LABELS = {"default": "Every channel", **{kind: cls.label for kind, cls in PROVIDERS.items()}}
LANGUAGES = {"ru": "Russian", "uk": "Ukrainian", "en": "English"}
# (what, provider constant, documented fallback) per kind; what: text, button, cards, quick.
LIMITS: dict[str, tuple[tuple[str, str, int], ...]] = {
    "telegram": (("text", "MAX_TEXT", 4096),),
    "messenger": (
        ("text", "MAX_TEXT", 2000),
        ("button", "MAX_TITLE", 20),
        ("cards", "MAX_ELEMENTS", 10),
        ("quick", "MAX_QUICK_REPLIES", 13),
    ),
    "viber": (
        ("text", "MAX_TEXT", 7000),
        ("button", "MAX_BUTTON_TEXT", 250),
        ("cards", "MAX_CARDS", 6),
    ),
    "vk": (("text", "MAX_TEXT", 9000), ("button", "MAX_LABEL", 40), ("cards", "MAX_CARDS", 10)),
    "whatsapp": (("text", "MAX_TEXT", 4096), ("button", "MAX_TITLE", 20)),
    "sandbox": (("text", "MAX_TEXT", 4096), ("cards", "MAX_CARDS", 10)),
}  # fmt: skip
PLACEHOLDER_URL = "{link}"


def platform_limit(kind: str, constant: str, fallback: int) -> int:
    """The limit the provider of `kind` renders with (its package's render.py constant)."""
    cls = PROVIDERS.get(kind)
    if cls is None:
        return fallback
    package = cls.__module__.rpartition(".")[0]
    for name in (f"{package}.render", cls.__module__):
        try:
            value = getattr(importlib.import_module(name), constant, None)
        except ImportError:
            continue
        if isinstance(value, int):
            return value
    return fallback


# The prompt is a plain text reply on every platform; VK's, the shortest text limit we send to
# without cutting, is far above this (PLATFORMS.md): one short line is what it is for.
COMMENT_PROMPT_MAX = 500


def content_errors(content: Any, *, where: str = "") -> list[str]:
    """Every problem in a content dict, each naming the slot, the field and the limit."""
    if content in (None, ""):
        return []
    if not isinstance(content, dict):
        return [f"{where}content must be an object of messages by channel"]
    errors: list[str] = []
    for slot, message in content.items():
        if slot not in LABELS:
            errors.append(f"{where}“{slot}” is not a channel; use one of {', '.join(LABELS)}")
            continue
        label = f"{where}{LABELS[slot]} message"
        if not isinstance(message, dict):
            errors.append(f"{label}: must be an object")
            continue
        errors += _shape_errors(label, message)
        kinds = [k for k in LIMITS if slot in ("default", k) and not _overridden(content, slot, k)]
        for kind in kinds:
            errors += _limit_errors(label, kind, message)
    return errors


def validate_content(content: Any, *, where: str = "") -> None:
    errors = content_errors(content, where=where)
    if errors:
        raise ValidationError(errors)


def _overridden(content: dict, slot: str, kind: str) -> bool:
    """The default message does not go to a kind that has its own."""
    return slot == "default" and isinstance(content.get(kind), dict)


def _buttons(message: dict) -> list[tuple[str, dict]]:
    found = [(f"button {i}", b) for i, b in enumerate(message.get("buttons") or [], 1)]
    for c, card in enumerate(message.get("cards") or [], 1):
        found += [(f"card {c} button {i}", b) for i, b in enumerate(card.get("buttons") or [], 1)]
    return found


def _shape_errors(label: str, message: dict) -> list[str]:
    errors = []
    has_body = message.get("text") or message.get("image_url") or message.get("cards")
    if not has_body:
        errors.append(f"{label}: text: write the message (or add an image or cards)")
    url = URLValidator(schemes=["http", "https"])
    prompt = message.get("comment_prompt")
    if prompt is not None and not isinstance(prompt, str):
        errors.append(f"{label}: comment prompt must be text")
    elif prompt and len(prompt) > COMMENT_PROMPT_MAX:
        errors.append(
            f"{label}: comment prompt is {len(prompt)} characters; at most {COMMENT_PROMPT_MAX}"
        )
    for field in ("image_url",):
        if message.get(field):
            errors += _url_errors(f"{label}: image", message[field], url)
    for name, button in _buttons(message):
        if not isinstance(button, dict) or not str(button.get("text", "")).strip():
            errors.append(f"{label}: {name}: give it a label")
            continue
        if button.get("url"):
            if button["url"] != PLACEHOLDER_URL:
                errors += _url_errors(f"{label}: {name} link", button["url"], url)
        elif not button.get("payload"):
            errors.append(f"{label}: {name}: a reply button needs a reply value")
    for i, reply in enumerate(message.get("quick_replies") or [], 1):
        if not str(reply.get("text", "")).strip() or not reply.get("payload"):
            errors.append(f"{label}: quick reply {i}: needs a label and a reply value")
    for i, card in enumerate(message.get("cards") or [], 1):
        if not str(card.get("title", "")).strip():
            errors.append(f"{label}: card {i}: give it a title")
        if card.get("image_url"):
            errors += _url_errors(f"{label}: card {i} image", card["image_url"], url)
    return errors


def _url_errors(label: str, value: str, validator: URLValidator) -> list[str]:
    try:
        validator(value)
    except ValidationError:
        return [f"{label}: “{value}” is not a web address (https://…)"]
    return []


def _limit_errors(label: str, kind: str, message: dict) -> list[str]:
    platform = PROVIDERS[kind].label
    errors = []
    for what, constant, fallback in LIMITS[kind]:
        limit = platform_limit(kind, constant, fallback)
        if what == "text" and len(message.get("text") or "") > limit:
            n = len(message["text"])
            errors.append(f"{label}: text: {n} characters; {platform} allows {limit}")
        elif what == "button":
            for name, button in _buttons(message):
                text = str(button.get("text", "")) if isinstance(button, dict) else ""
                if len(text) > limit:
                    errors.append(
                        f"{label}: {name} label: {len(text)} characters; {platform} shows "
                        f"at most {limit}"
                    )
        elif what == "cards" and len(message.get("cards") or []) > limit:
            errors.append(f"{label}: cards: {len(message['cards'])}; {platform} shows {limit}")
        elif what == "quick" and len(message.get("quick_replies") or []) > limit:
            n = len(message["quick_replies"])
            errors.append(f"{label}: quick replies: {n}; {platform} shows {limit}")
    return errors
