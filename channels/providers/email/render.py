"""A RichMessage as an e-mail: subject, plain text and HTML.

The first line of the text is the subject (at most SUBJECT_MAX characters). URL buttons are
links (already tracked by campaigns/content.py); reply buttons and quick replies (survey
scores, STOP) become signed action links that do what pressing them does in a chat; cards are
blocks with their image, title, subtitle and links. Images are referenced, not attached.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.template.loader import render_to_string

from channels.messages import Button, RichMessage

SUBJECT_MAX = 120


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str
    links: list[dict[str, str]]  # every link a reader can press, in order (for the preview)


def subject_of(message: RichMessage) -> str:
    first = next((line.strip() for line in message.text.splitlines() if line.strip()), "")
    first = first or next((c.title for c in message.cards if c.title), "")
    return first[:SUBJECT_MAX]


def render_email(
    message: RichMessage,
    *,
    action: Callable[[str], str],
    unsubscribe: str,
    pixel: str = "",
) -> Email:
    """`action(payload)` gives the link for a reply button; `unsubscribe` the footer's link."""

    def link(button: Button) -> dict[str, str]:
        return {"text": button.text, "href": button.url or action(button.payload)}

    cards = [
        {
            "title": card.title,
            "subtitle": card.subtitle,
            "image_url": card.image_url,
            "links": [link(b) for b in card.buttons],
        }
        for card in message.cards
    ]
    links = [link(b) for b in (*message.buttons, *message.quick_replies)]
    context = {
        "text": message.text,
        "image_url": message.image_url,
        "links": links,
        "cards": cards,
        "unsubscribe": unsubscribe,
        "pixel": pixel,
    }
    text = render_to_string("channels/email/message.txt", context).strip() + "\n"
    html = render_to_string("channels/email/message.html", context)
    every = [link for card in cards for link in card["links"]] + links
    return Email(subject=subject_of(message), text=text, html=html, links=every)
