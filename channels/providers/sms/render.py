"""A RichMessage as one SMS text.

The text, then each card's title; URL buttons as "label: link" (the link already tracked by
campaigns/content.py); reply buttons and quick replies as numbered choices ("1 - Order for next
week"), which the customer answers by sending the number (campaigns/inbound.py reads it back).
Images cannot go in an SMS and are left out. The text is cut to MAX_SEGMENTS segments: a
marketing SMS past six parts costs more than it earns.
"""

from channels.messages import RichMessage
from channels.providers.sms.segments import count

MAX_SEGMENTS = 6


def render_text(message: RichMessage) -> str:
    lines = [message.text.strip()] if message.text.strip() else []
    for card in message.cards:
        lines.append(" - ".join(part for part in (card.title, card.subtitle) if part))
        lines += [f"{b.text}: {b.url}" for b in card.buttons if b.url]
    lines += [f"{b.text}: {b.url}" for b in message.buttons if b.url]
    choices = [b for b in (*message.buttons, *message.quick_replies) if not b.url]
    lines += [f"{number} - {b.text}" for number, b in enumerate(choices, 1)]
    return _within(("\n".join(lines)).strip())


def choices(message: RichMessage) -> list[str]:
    """The payloads a numbered reply stands for, in the numbers' order."""
    return [b.payload for b in (*message.buttons, *message.quick_replies) if not b.url]


def _within(text: str) -> str:
    while text and count(text).count > MAX_SEGMENTS:
        text = text[: max(1, int(len(text) * 0.9))].rstrip() + "…"
    return text
