"""Viber rendering: deep links, and properties that hold for any message (hypothesis)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from channels.messages import Button, Card, RichMessage
from channels.providers.base import SendOptions
from channels.providers.viber import (
    MAX_BUTTON_TEXT,
    MAX_CAPTION,
    MAX_CARDS,
    MAX_GROUP_ROWS,
    MAX_SENDER_NAME,
    MAX_TEXT,
)
from tests.factories import ChannelAccountFactory

# Text from several scripts at once: Latin, Cyrillic, RTL Hebrew and Arabic with direction
# marks, emoji with skin tones and ZWJ sequences, HTML-ish characters Viber's button Text
# interprets, and any other character that can be text (no lone surrogates).
MIXED = "aZ 09\n!?<>&\"'\\ Привет שלום مرحبا \u200f\u202e 😀🍲👍🏽👩‍👩‍👧 é"
piece = st.text(
    alphabet=st.sampled_from(MIXED) | st.characters(exclude_categories=("Cs",)), max_size=40
)
texts = st.one_of(piece, st.builds(lambda s, n: s * n, piece, st.integers(1, 600)))
labels = st.text(alphabet=st.sampled_from(MIXED), min_size=1, max_size=300)
reply_buttons = st.builds(Button, text=labels, payload=texts)
url_buttons = st.builds(Button, text=labels, url=st.just("https://shop.test/o?x=1"))
buttons = st.lists(reply_buttons | url_buttons, max_size=9).map(tuple)
images = st.sampled_from(["", "https://cdn.test/menu.jpg"])
card_buttons = st.lists(reply_buttons | url_buttons, max_size=5).map(tuple)
cards = st.builds(Card, title=texts, subtitle=texts, image_url=images, buttons=card_buttons)
messages = st.builds(
    RichMessage,
    text=texts,
    image_url=images,
    buttons=buttons,
    quick_replies=buttons,
    cards=st.lists(cards, max_size=7).map(tuple),
)
account_names = st.text(alphabet="abcdefghij-", min_size=1, max_size=50)


def provider(name: str = "shop-viber"):
    return ChannelAccountFactory.build(kind="viber", name=name).provider()


def cells(part: dict) -> list[dict]:
    keyboard = part.get("keyboard", {}).get("Buttons", [])
    rich = part.get("rich_media", {}).get("Buttons", [])
    return keyboard + rich


def test_it_links_to_the_bot_with_the_token_as_context():
    assert (
        provider().deep_link("Ab3_x-9KqLw2") == "viber://pa?chatURI=comeback&context=Ab3_x-9KqLw2"
    )


def test_it_escapes_button_text_for_viber_html():
    [part] = provider().render(
        RichMessage(text="?", buttons=(Button("Fish & <chips>", payload="f"),)), SendOptions()
    )

    assert part["keyboard"]["Buttons"][0]["Text"] == "Fish &amp; &lt;chips&gt;"


@settings(max_examples=100, deadline=None)
@given(messages, account_names)
def test_it_never_exceeds_a_documented_limit(message, name):
    parts = provider(name).render(message, SendOptions())

    for part in parts:
        assert 1 <= len(part["sender"]["name"]) <= MAX_SENDER_NAME
        assert "receiver" not in part
        if part["type"] == "text":
            assert 1 <= len(part["text"]) <= MAX_TEXT and part["text"].strip()
        elif part["type"] == "picture":
            assert len(part["text"]) <= MAX_CAPTION
        for cell in cells(part):
            assert len(cell.get("Text", "")) <= MAX_BUTTON_TEXT
            assert 1 <= cell["Columns"] <= 6
        for cell in part.get("keyboard", {}).get("Buttons", []):
            assert cell["Rows"] == 1
        if part["type"] == "rich_media":
            assert part["min_api_version"] >= 2
            rich = part["rich_media"]
            assert rich["ButtonsGroupColumns"] == 6
            assert 1 <= rich["ButtonsGroupRows"] <= MAX_GROUP_ROWS
            # Groups fill the grid in order: every card must take exactly its group's rows.
            rows = [cell["Rows"] for cell in rich["Buttons"]]
            assert sum(rows) % rich["ButtonsGroupRows"] == 0
            assert sum(rows) // rich["ButtonsGroupRows"] == min(len(message.cards), MAX_CARDS)
            assert all(cell["Columns"] == 6 for cell in rich["Buttons"])


@settings(max_examples=100, deadline=None)
@given(messages)
def test_it_sends_every_reply_payload_back_unchanged(message):
    parts = provider().render(message, SendOptions())

    sent = {cell.get("ActionBody") for part in parts for cell in cells(part)}
    for button in (*message.buttons, *message.quick_replies):
        if button.is_url:
            assert button.url in sent
        else:
            assert f"cb:{button.payload or button.text}" in sent


@settings(max_examples=100, deadline=None)
@given(texts)
def test_it_keeps_the_whole_text_when_it_fits(text):
    parts = provider().render(RichMessage(text=text), SendOptions())

    if text.strip() and len(text) <= MAX_TEXT:
        assert [part["text"] for part in parts] == [text]
    elif text.strip():
        assert parts[0]["text"].endswith("…")
    else:
        assert parts == []
