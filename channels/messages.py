"""The platform-neutral message a campaign or a reply sends; each provider renders it."""

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Button:
    """A URL button when `url` is set, else a reply button that sends `payload` back."""

    text: str
    url: str = ""
    payload: str = ""

    @property
    def is_url(self) -> bool:
        return bool(self.url)


@dataclass(frozen=True)
class Card:
    """One element of a carousel."""

    title: str
    subtitle: str = ""
    image_url: str = ""
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True)
class RichMessage:
    text: str = ""
    image_url: str = ""
    buttons: tuple[Button, ...] = ()
    # Suggested answers shown under the message (payload buttons that vanish after use).
    quick_replies: tuple[Button, ...] = ()
    cards: tuple[Card, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RichMessage":
        return cls(
            text=data.get("text", ""),
            image_url=data.get("image_url", ""),
            buttons=tuple(Button(**b) for b in data.get("buttons", ())),
            quick_replies=tuple(Button(**b) for b in data.get("quick_replies", ())),
            cards=tuple(
                Card(
                    title=c["title"],
                    subtitle=c.get("subtitle", ""),
                    image_url=c.get("image_url", ""),
                    buttons=tuple(Button(**b) for b in c.get("buttons", ())),
                )
                for c in data.get("cards", ())
            ),
        )


def truncate(text: str, limit: int) -> str:
    """Cut `text` to `limit` characters, marking the cut with an ellipsis."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + "…"


def caption_split(message: RichMessage, max_caption: int) -> tuple[str, str]:
    """The message's text as (its picture's caption, a text message of its own): all of it
    under the picture when it fits there, else all of it on its own; blank text is none."""
    text = message.text if message.text.strip() else ""
    if message.image_url and len(text) <= max_caption:
        return text, ""
    return "", text


def short_payload(payload: str, fits: Callable[[str], bool]) -> str:
    """`payload` if it is not empty and `fits`, else a stable short form that fits.

    The short form is the longest head of the payload that fits with "~" and 8 hex digits of
    the payload's SHA-256 after it, so distinct long payloads stay distinct ("...:4" and
    "...:5") and the same payload always arrives the same; an empty one becomes "~e3b0c442".
    A handler expecting a long payload compares what arrives with the short form of the one
    it expects; short payloads round-trip unchanged. `fits` must accept the 9-character tail.
    """
    if payload and fits(payload):
        return payload
    tail = "~" + hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    low, high = 0, len(payload)  # binary search: a longer head never fits where a shorter fails
    while low < high:
        middle = (low + high + 1) // 2
        if fits(payload[:middle] + tail):
            low = middle
        else:
            high = middle - 1
    return payload[:low] + tail
