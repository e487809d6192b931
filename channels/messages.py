"""The platform-neutral message a campaign or a reply sends; each provider renders it."""

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


def truncate_bytes(text: str, limit: int) -> str:
    """Cut `text` so its UTF-8 encoding fits `limit` bytes, never splitting a character."""
    encoded = text.encode()
    if len(encoded) <= limit:
        return text
    return encoded[:limit].decode(errors="ignore")
