"""Property tests: whatever a campaign holds, Messenger and WhatsApp requests fit the limits."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels.errors import RejectedByPolicy
from channels.messages import Button, Card, RichMessage
from channels.providers.base import SendOptions
from tests.factories import ChannelAccountFactory

PIECES = ["a", "menu ", "🍝", "👩‍👩‍👧‍👦", "مرحبا بكم ", "שלום ", "\u202e", "Ünïcödé", "\n"]
long_texts = st.builds(lambda piece, n: piece * n, st.sampled_from(PIECES), st.integers(0, 2500))
texts = st.one_of(
    st.text(max_size=100), st.lists(st.sampled_from(PIECES), max_size=60).map("".join), long_texts
)
buttons = st.builds(
    Button,
    text=texts,
    url=st.sampled_from(["", "https://shop.test/menu"]),
    payload=st.one_of(st.just(""), texts),
)
images = st.sampled_from(["", "https://cdn.test/dish.jpg"])
cards = st.builds(
    Card,
    title=texts,
    subtitle=texts,
    image_url=images,
    buttons=st.lists(buttons, max_size=6).map(tuple),
)
messages = st.builds(
    RichMessage,
    text=texts,
    image_url=images,
    buttons=st.lists(buttons, max_size=16).map(tuple),
    quick_replies=st.lists(buttons, max_size=20).map(tuple),
    cards=st.lists(cards, max_size=13).map(tuple),
)
categories = st.sampled_from(["service", "survey", "marketing"])
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def provider(kind: str):
    return ChannelAccountFactory.build(kind=kind).provider()


def render(kind: str, message: RichMessage, category: str) -> list[dict]:
    try:
        return provider(kind).render(message, SendOptions(category=category))
    except RejectedByPolicy:
        # Inside the window only a message with nothing to show is refused (quick replies
        # alone do not count: URL ones have no Messenger form).
        assert not (message.text.strip() or message.image_url or message.buttons or message.cards)
        return []


def filled(text: str, limit: int) -> bool:
    """Within `limit` characters and not blank: the lower bound as much as the upper one."""
    return 1 <= len(text) <= limit and bool(text.strip())


def unique(values: list[str]) -> bool:
    return len(set(values)) == len(values)


# --- Messenger: PLATFORMS.md §2.7 -------------------------------------------------------------
def check_messenger_button(button: dict) -> None:
    assert filled(button["title"], 20)
    if button.get("type") != "web_url":
        assert 1 <= len(button["payload"]) <= 1000


def check_messenger(payload: dict) -> None:
    message = payload["message"]
    assert payload["messaging_type"] in ("RESPONSE", "UPDATE")
    assert "text" in message or message.get("attachment")
    if "text" in message:
        assert filled(message["text"], 2000)
    quick = message.get("quick_replies", [])
    assert len(quick) <= 13
    for reply in quick:
        check_messenger_button(reply)
    template = message.get("attachment", {}).get("payload", {})
    if template.get("template_type") == "button":
        assert filled(template["text"], 640)
        assert 1 <= len(template["buttons"]) <= 3
    if template.get("template_type") == "generic":
        assert 1 <= len(template["elements"]) <= 10
        for element in template["elements"]:
            assert filled(element["title"], 80)
            assert "subtitle" not in element or filled(element["subtitle"], 80)
            assert len(element.get("buttons", [])) <= 3
            for button in element.get("buttons", []):
                check_messenger_button(button)
    for button in template.get("buttons", []):
        check_messenger_button(button)


@PROPERTY
@given(message=messages, category=categories)
def test_it_never_renders_a_messenger_request_over_a_limit(message, category):
    for payload in render("messenger", message, category):
        check_messenger(payload)


@PROPERTY
@given(many=st.lists(buttons, min_size=1, max_size=16))
def test_it_keeps_every_messenger_postback_within_the_quick_reply_room(many):
    payloads = render("messenger", RichMessage(text="Pick", buttons=tuple(many)), "service")

    template = payloads[-1]["message"]["attachment"]["payload"]
    quick = payloads[-1]["message"].get("quick_replies", [])
    postbacks = [b for b in many if not b.is_url]
    in_template = [b for b in template["buttons"] if b["type"] == "postback"]
    assert len(template["buttons"]) == min(3, len(many))
    # Each postback is in the template or a quick reply, until the 13 quick replies are used.
    assert len(in_template) + len(quick) == min(len(postbacks), len(in_template) + 13)


# --- WhatsApp: PLATFORMS.md §5.7 --------------------------------------------------------------
def check_whatsapp(payload: dict) -> None:
    kind = payload["type"]
    if kind == "text":
        assert filled(payload["text"]["body"], 4096)
    if kind == "image":
        assert len(payload["image"].get("caption", "")) <= 1024
    if kind == "interactive":
        interactive = payload["interactive"]
        assert filled(interactive["body"]["text"], 1024)
        action = interactive["action"]
        if interactive["type"] == "button":
            replies = [button["reply"] for button in action["buttons"]]
            assert 1 <= len(replies) <= 3
            for reply in replies:
                assert filled(reply["title"], 20)
                assert 1 <= len(reply["id"]) <= 256
            # Titles and ids "must be unique within the message" (interactive reply buttons).
            assert unique([r["title"] for r in replies]) and unique([r["id"] for r in replies])
        if interactive["type"] == "list":
            assert 1 <= len(action["button"]) <= 20
            rows = [row for section in action["sections"] for row in section["rows"]]
            assert 1 <= len(rows) <= 10
            for row in rows:
                assert filled(row["title"], 24)
                assert 1 <= len(row["id"]) <= 200
            assert unique([row["id"] for row in rows])
        if interactive["type"] == "cta_url":
            assert filled(action["parameters"]["display_text"], 20)


@PROPERTY
@given(message=messages, category=categories)
def test_it_never_renders_a_whatsapp_request_over_a_limit(message, category):
    for payload in render("whatsapp", message, category):
        check_whatsapp(payload)


@pytest.mark.parametrize("kind", ["messenger", "whatsapp"])
@PROPERTY
@given(text=long_texts)
def test_it_sends_no_text_longer_than_the_platform_takes(kind, text):
    payloads = render(kind, RichMessage(text=text), "service")

    bodies = [p["message"]["text"] if kind == "messenger" else p["text"]["body"] for p in payloads]
    assert all(len(body) <= (2000 if kind == "messenger" else 4096) for body in bodies)
    assert (bodies == []) == (text.strip() == "")
