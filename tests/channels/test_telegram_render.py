"""Telegram rendering: deep links, and properties that hold for any message (hypothesis)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from channels.messages import RichMessage
from channels.providers.base import SendOptions
from channels.providers.telegram.render import (
    MAX_CALLBACK_BYTES,
    MAX_CAPTION,
    MAX_TEXT,
    callback_data,
)
from tests.channels.rendering import mixed_labels, mixed_texts, rich_messages
from tests.factories import ChannelAccountFactory

texts = mixed_texts()
messages = rich_messages(texts=texts, labels=mixed_labels(), max_cards=4)


def provider():
    return ChannelAccountFactory.build(kind="telegram").provider()


def keyboard_buttons(part: dict) -> list[dict]:
    rows = part.get("reply_markup", {}).get("inline_keyboard", [])
    return [button for row in rows for button in row]


def test_it_links_to_the_bot_with_the_token_as_start_parameter():
    assert (
        provider().deep_link("Ab3_x-9KqLw2") == "https://t.me/comeback_test_bot?start=Ab3_x-9KqLw2"
    )


def test_it_keeps_a_payload_that_fits_as_callback_data():
    assert callback_data("csat:42:5") == "csat:42:5"
    assert callback_data("я" * 32) == "я" * 32  # exactly 64 bytes


def test_it_keeps_long_payloads_distinct_and_stable():
    first, second = "menu:" + "x" * 80 + ":4", "menu:" + "x" * 80 + ":5"

    assert callback_data(first) != callback_data(second)
    assert callback_data(first) == callback_data(first)
    assert callback_data(first).startswith("menu:xxx")


@settings(max_examples=100, deadline=None)
@given(messages)
def test_it_never_exceeds_a_documented_limit(message):
    parts = provider().render(message, SendOptions())

    for part in parts:
        assert part["method"] in ("sendMessage", "sendPhoto")
        if part["method"] == "sendMessage":
            assert 1 <= len(part["text"]) <= MAX_TEXT
            assert part["text"].strip()
        else:
            assert len(part["caption"]) <= MAX_CAPTION
        for button in keyboard_buttons(part):
            assert button["text"].strip()
            assert ("url" in button) != ("callback_data" in button)
            if "callback_data" in button:
                assert 1 <= len(button["callback_data"].encode()) <= MAX_CALLBACK_BYTES


@settings(max_examples=100, deadline=None)
@given(messages)
def test_it_keeps_every_payload_that_fits_and_every_button(message):
    parts = provider().render(message, SendOptions())

    sent = [button for part in parts for button in keyboard_buttons(part)]
    wanted = [
        *message.buttons,
        *message.quick_replies,
        *(b for c in message.cards for b in c.buttons),
    ]
    assert len(sent) == len(wanted)
    for button in wanted:
        value = button.payload or button.text
        if not button.is_url and 0 < len(value.encode()) <= MAX_CALLBACK_BYTES:
            assert any(b.get("callback_data") == value for b in sent)


@settings(max_examples=200, deadline=None)
@given(st.lists(texts, min_size=2, max_size=8, unique=True))
def test_it_keeps_distinct_payloads_distinct(payloads):
    assert len({callback_data(payload) for payload in payloads}) == len(payloads)


@settings(max_examples=200, deadline=None)
@given(texts)
def test_it_keeps_the_whole_text_when_it_fits(text):
    parts = provider().render(RichMessage(text=text), SendOptions())

    if text.strip() and len(text) <= MAX_TEXT:
        assert [part["text"] for part in parts] == [text]
    elif text.strip():
        assert parts[0]["text"].endswith("…")
