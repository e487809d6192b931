"""VK rendering: deep links, random_id, and properties that hold for any message (hypothesis)."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from channels.messages import RichMessage
from channels.providers.base import SendOptions
from channels.providers.vk.provider import random_id
from channels.providers.vk.render import (
    MAX_CARD_BUTTONS,
    MAX_CARD_TEXT,
    MAX_CARDS,
    MAX_INLINE_BUTTONS,
    MAX_INLINE_ROWS,
    MAX_LABEL,
    MAX_PAYLOAD,
    MAX_ROW_BUTTONS,
    MAX_TEXT,
    button_payload,
)
from tests.channels.rendering import MIXED, mixed_labels, mixed_texts, rich_messages
from tests.factories import ChannelAccountFactory

# A tab too: one more character JSON must escape.
texts = mixed_texts(MIXED + "\t")
labels = mixed_labels(MIXED + "\t")
# A button may come without a label and payload: it still gets both.
messages = rich_messages(
    texts=texts, labels=labels, max_cards=12, reply_labels=labels | st.just("")
)
options = st.builds(
    SendOptions,
    outside_window=st.booleans(),
    category=st.sampled_from(["service", "survey", "marketing"]),
)


def provider(**credentials):
    account = ChannelAccountFactory.build(kind="vk")
    account.credentials.update(credentials)
    return account.provider()


def check_button(button: dict) -> None:
    action = button["action"]
    assert 1 <= len(action["label"]) <= MAX_LABEL and action["label"].strip()
    if action["type"] == "text":
        assert len(action["payload"]) <= MAX_PAYLOAD
        payload = json.loads(action["payload"])["p"]
        assert isinstance(payload, str) and payload  # never empty: the lower bound too
    else:
        assert action["type"] == "open_link" and action["link"]


def test_it_links_to_the_community_by_screen_name_with_the_token_as_ref():
    assert provider().deep_link("Ab3_x-9KqLw2") == (
        "https://vk.me/comebackshop?ref=Ab3_x-9KqLw2&ref_source=comeback"
    )


def test_it_links_to_the_community_by_id_without_a_screen_name():
    link = provider(screen_name="").deep_link("Ab3_x-9KqLw2")

    assert link == "https://vk.me/club200001?ref=Ab3_x-9KqLw2&ref_source=comeback"


def test_it_derives_a_stable_positive_int32_random_id_from_a_key():
    assert random_id("delivery:1") == random_id("delivery:1")
    assert random_id("delivery:1") != random_id("delivery:2")
    assert 0 < random_id("delivery:1") < 2**31


def test_it_keeps_payloads_that_fit_and_shortens_the_rest_stably():
    fits, long = "csat:42:5", "menu:" + "x" * 300

    assert json.loads(button_payload(fits)) == {"p": fits}
    assert len(button_payload(long)) <= MAX_PAYLOAD
    assert button_payload(long) == button_payload(long)
    assert button_payload(long) != button_payload(long + "y")


@settings(max_examples=100, deadline=None)
@given(messages, options)
def test_it_never_exceeds_a_documented_limit(message, send_options):
    parts = provider().render(message, send_options)

    assert len(parts) <= 1  # one messages.send: one random_id covers the whole message
    for fields in parts:
        assert 1 <= len(fields["message"]) <= MAX_TEXT and fields["message"].strip()
        assert not ("keyboard" in fields and "template" in fields)
        assert ("intent" in fields) == send_options.outside_window
        if "keyboard" in fields:
            keyboard = json.loads(fields["keyboard"])
            assert keyboard["inline"] is True
            rows = keyboard["buttons"]
            assert 1 <= len(rows) <= MAX_INLINE_ROWS
            assert all(1 <= len(row) <= MAX_ROW_BUTTONS for row in rows)
            assert sum(len(row) for row in rows) <= MAX_INLINE_BUTTONS
            for row in rows:
                for button in row:
                    check_button(button)
        if "template" in fields:
            template = json.loads(fields["template"])
            elements = template["elements"]
            assert template["type"] == "carousel"
            assert 1 <= len(elements) <= MAX_CARDS
            # VK wants every element alike: the same keys and the same number of buttons.
            assert len({tuple(sorted(e)) for e in elements}) == 1
            assert len({len(e.get("buttons", [])) for e in elements}) == 1
            for element in elements:
                assert 1 <= len(element["title"]) <= MAX_CARD_TEXT
                assert 1 <= len(element["description"]) <= MAX_CARD_TEXT
                assert len(element.get("buttons", [])) <= MAX_CARD_BUTTONS
                for button in element.get("buttons", []):
                    check_button(button)


@settings(max_examples=100, deadline=None)
@given(messages)
def test_it_sends_payloads_that_fit_back_unchanged(message):
    parts = provider().render(message, SendOptions())

    keyboard = json.loads(parts[0]["keyboard"]) if parts and "keyboard" in parts[0] else None
    sent = [b for row in (keyboard or {}).get("buttons", []) for b in row]
    payloads = {json.loads(b["action"]["payload"])["p"] for b in sent if "payload" in b["action"]}
    kept = [*message.buttons, *message.quick_replies][:MAX_INLINE_BUTTONS]
    if not message.cards:
        assert len(sent) == len(kept)
        for button in kept:
            value = button.payload or button.text
            encoded = json.dumps({"p": value}, ensure_ascii=False, separators=(",", ":"))
            if not button.is_url and value and len(encoded) <= MAX_PAYLOAD:
                assert value in payloads


@settings(max_examples=200, deadline=None)
@given(st.lists(texts, min_size=2, max_size=8, unique=True))
def test_it_keeps_distinct_payloads_distinct(payloads):
    assert len({button_payload(payload) for payload in payloads}) == len(payloads)


@settings(max_examples=100, deadline=None)
@given(texts)
def test_it_keeps_the_image_link_whole_however_long_the_text(text):
    message = RichMessage(text=text, image_url="https://cdn.test/menu.jpg")

    [fields] = provider().render(message, SendOptions())

    assert fields["message"].endswith("https://cdn.test/menu.jpg")
    assert len(fields["message"]) <= MAX_TEXT
