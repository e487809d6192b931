"""A picture's text on Telegram and Viber (channels.messages.caption_split): under the picture
when it fits its caption, else whole in a message of its own after it, never cut in two."""

import pytest

from channels.messages import RichMessage
from channels.providers.telegram import render as telegram
from channels.providers.viber import render as viber

IMAGE = "https://cdn.test/menu.jpg"


def telegram_parts(message: RichMessage) -> list[tuple[str, str]]:
    parts = telegram.render_message(message, None)
    return [(p["method"], p.get("caption", p.get("text"))) for p in parts]


def viber_parts(message: RichMessage) -> list[tuple[str, str]]:
    return [(p["type"], p["text"]) for p in viber.render_message(message, "Shop")]


@pytest.mark.parametrize(
    ("parts", "limit", "picture", "text"),
    [(telegram_parts, telegram.MAX_CAPTION, "sendPhoto", "sendMessage"),
     (viber_parts, viber.MAX_CAPTION, "picture", "text")],
)  # fmt: skip
def test_the_text_goes_under_the_picture_only_when_it_fits(parts, limit, picture, text):
    fits, too_long = "a" * limit, "b" * (limit + 1)

    assert parts(RichMessage(text=fits, image_url=IMAGE)) == [(picture, fits)]
    assert parts(RichMessage(text=too_long, image_url=IMAGE)) == [(picture, ""), (text, too_long)]
    assert parts(RichMessage(text="   ", image_url=IMAGE)) == [(picture, "")]
    assert parts(RichMessage(text="no picture")) == [(text, "no picture")]
