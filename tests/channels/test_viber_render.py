"""Viber rendering: deep links, and properties that hold for any message (hypothesis)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from channels.messages import Button, RichMessage
from channels.providers.base import SendOptions
from channels.providers.viber.render import (
    MAX_ACTION_BODY,
    MAX_BUTTON_TEXT,
    MAX_CAPTION,
    MAX_CARDS,
    MAX_GROUP_ROWS,
    MAX_REQUEST_BYTES,
    MAX_SENDER_NAME,
    MAX_TEXT,
    action_body,
    encode,
)
from tests.channels.rendering import (
    MIXED,
    button_tuples,
    mixed_labels,
    pieces,
    repeated,
    rich_messages,
)
from tests.factories import ChannelAccountFactory

# MIXED holds the HTML-ish characters Viber's button Text interprets.
piece = pieces()
# Up to 7,000 four-byte characters: the 30 KB request cap bites before the character limits.
heavy = st.sampled_from(["🍲", "я", "👍🏽", "&"])
texts = st.one_of(piece, repeated(piece, 1, 600), repeated(heavy, 2000, 8000))
labels = mixed_labels(max_size=300) | repeated(heavy, 50, 300)
messages = rich_messages(texts=texts, labels=labels, max_cards=7)
account_names = st.text(alphabet="abcdefghij-", min_size=1, max_size=50)
# Messages far from the 30 KB request cap, where nothing is dropped to fit it.
short_texts = st.text(alphabet=st.sampled_from(MIXED), max_size=60)
short_buttons = button_tuples(labels=short_texts, payloads=texts)
small_messages = st.builds(
    RichMessage, text=short_texts, buttons=short_buttons, quick_replies=short_buttons
)
RECEIVER = "pttm25kSGUo1919sBORWyA==" * 2  # twice as long as Viber's ids


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
        assert len(encode({"receiver": RECEIVER, **part})) <= MAX_REQUEST_BYTES
        assert 1 <= len(part["sender"]["name"]) <= MAX_SENDER_NAME
        assert "receiver" not in part
        if part["type"] == "text":
            assert 1 <= len(part["text"]) <= MAX_TEXT and part["text"].strip()
        elif part["type"] == "picture":
            assert len(part["text"]) <= MAX_CAPTION
        for cell in cells(part):
            assert len(cell.get("Text", "")) <= MAX_BUTTON_TEXT
            assert 1 <= cell["Columns"] <= 6
            if cell["ActionType"] == "reply":
                assert len("cb:") < len(cell["ActionBody"]) <= MAX_ACTION_BODY
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
            # Cards are dropped from the end only to fit the request size.
            assert 1 <= sum(rows) // rich["ButtonsGroupRows"] <= min(len(message.cards), MAX_CARDS)
            assert part["alt_text"].strip()
            assert all(cell["Columns"] == 6 for cell in rich["Buttons"])


@settings(max_examples=100, deadline=None)
@given(small_messages)
def test_it_sends_every_reply_payload_back_in_its_stable_form(message):
    parts = provider().render(message, SendOptions())

    sent = {cell.get("ActionBody") for part in parts for cell in cells(part)}
    for button in (*message.buttons, *message.quick_replies):
        if button.is_url:
            assert button.url in sent
        else:
            assert action_body(button) in sent
            payload = button.payload or button.text
            if 1 <= len(payload) <= MAX_ACTION_BODY - len("cb:"):
                assert action_body(button) == f"cb:{payload}"


@settings(max_examples=100, deadline=None)
@given(texts)
def test_it_keeps_the_whole_text_when_it_fits(text):
    parts = provider().render(RichMessage(text=text), SendOptions())

    if text.strip() and len(text) <= MAX_TEXT and len(text.encode()) < 29_000:
        assert [part["text"] for part in parts] == [text]
    elif text.strip():
        assert parts[0]["text"].endswith("…")
    else:
        assert parts == []


def test_it_cuts_a_text_to_fit_the_30_kb_request_and_keeps_its_buttons():
    # 7,000 emoji are within the character limit but 28,000 bytes; the keyboard needs room too.
    buttons = tuple(Button("👍" * 60, payload=f"p{n}") for n in range(12))
    message = RichMessage(text="🍲" * MAX_TEXT, buttons=buttons)

    [part] = provider().render(message, SendOptions())

    assert len(encode({"receiver": RECEIVER, **part})) <= MAX_REQUEST_BYTES
    assert part["text"].startswith("🍲" * 3000) and part["text"].endswith("…")
    assert len(part["keyboard"]["Buttons"]) == 12


def test_it_drops_the_last_buttons_only_when_they_alone_are_too_big():
    buttons = tuple(Button("👍" * 250, payload=f"p{n}") for n in range(40))

    [part] = provider().render(RichMessage(text="Pick one", buttons=buttons), SendOptions())

    assert len(encode({"receiver": RECEIVER, **part})) <= MAX_REQUEST_BYTES
    kept = part["keyboard"]["Buttons"]
    assert 20 < len(kept) < 40
    assert [b["ActionBody"] for b in kept] == [f"cb:p{n}" for n in range(len(kept))]


def test_it_shortens_a_long_reply_payload_stably():
    long = "survey:" + "x" * 400

    body = action_body(Button("Rate", payload=long))

    assert len(body) == MAX_ACTION_BODY and body.startswith("cb:survey:xxx")
    assert body == action_body(Button("Rate", payload=long))
    assert body != action_body(Button("Rate", payload=long + "y"))
