"""The sandbox web chat's page and the JSON API its script calls."""

import json
import re

import pytest
from django.test import Client

from channels.events import EventKind
from channels.messages import Button, RichMessage
from channels.models import InboundEvent, SandboxMessage
from channels.providers.base import Reply
from tests.factories import ChannelAccountFactory

pytestmark = pytest.mark.django_db

HANDLER = "tests.channels.test_sandbox_views.shop_bot"
CONVERSATION = "conv-0123456789"


def shop_bot(event: InboundEvent) -> list[Reply]:
    """A stand-in for the subscriptions app: a welcome with buttons, then echoes of presses."""
    to = event.platform_user_id
    if event.kind == EventKind.START:
        welcome = RichMessage(
            text=f"Welcome! token={event.token or '-'}",
            buttons=(Button("Topics", payload="topics"), Button("Stop", payload="stop")),
        )
        return [Reply(to, welcome)]
    if event.kind == EventKind.BUTTON:
        return [Reply(to, RichMessage(text=f"You pressed {event.payload}"))]
    return []


@pytest.fixture
def account(settings):
    settings.INBOUND_EVENT_HANDLERS = [HANDLER]
    return ChannelAccountFactory(kind="sandbox", name="sandbox")


def post_event(client: Client, event: dict | bytes, conversation: str = CONVERSATION, query=""):
    body = event if isinstance(event, bytes) else json.dumps(event).encode()
    return client.generic(
        "POST",
        f"/sandbox/api/{conversation}/events{query}",
        body,
        content_type="application/json",
    )


def lines(conversation: str = CONVERSATION) -> list[tuple[str, dict]]:
    rows = SandboxMessage.objects.filter(conversation=conversation).order_by("pk")
    return [(row.direction, row.body) for row in rows]


# --- the page ---------------------------------------------------------------------------------
def test_it_explains_the_sandbox_when_opened_without_a_link(client, account):
    response = client.get("/sandbox/")

    assert response.status_code == 200
    assert b'data-testid="start-demo"' in response.content
    assert b'href="/sandbox/?start="' in response.content


def test_it_gives_each_opened_link_a_fresh_conversation(client, account):
    first = client.get("/sandbox/?start=tok-1")
    second = client.get("/sandbox/?start=tok-1")

    assert first.status_code == 302
    assert re.fullmatch(r"/sandbox/\?start=tok-1&c=[A-Za-z0-9_-]{22}", first["Location"])
    assert first["Location"] != second["Location"]


def test_it_keeps_the_account_of_a_second_sandbox_through_the_redirect(client, account):
    ChannelAccountFactory(kind="sandbox", name="demo-2")

    response = client.get("/sandbox/?start=t&account=demo-2")

    assert "account=demo-2" in response["Location"]


def test_it_renders_the_chat_with_the_start_token_and_a_csrf_token(client, account):
    response = client.get(f"/sandbox/?start=tok-1&c={CONVERSATION}")

    assert response.status_code == 200
    html = response.content.decode()
    config = json.loads(re.search(r'id="sandbox-config"[^>]*>(.*?)</script>', html).group(1))
    assert config["start"] == "tok-1"
    assert config["conversation"] == CONVERSATION
    assert config["eventsUrl"] == f"/sandbox/api/{CONVERSATION}/events"
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'data-testid="composer-input"' in html


def test_it_resumes_a_conversation_without_posting_a_start(client, account):
    response = client.get(f"/sandbox/?c={CONVERSATION}")

    html = response.content.decode()
    config = json.loads(re.search(r'id="sandbox-config"[^>]*>(.*?)</script>', html).group(1))
    assert config["start"] is None


def test_it_answers_404_for_an_unknown_or_disabled_account(client, account):
    ChannelAccountFactory(kind="sandbox", name="off", enabled=False)

    assert client.get("/sandbox/?account=nope").status_code == 404
    assert client.get("/sandbox/?account=off&start=t").status_code == 404
    event = {"type": "text", "id": "1", "text": "hi"}
    assert post_event(client, event, query="?account=nope").status_code == 404
    assert client.get(f"/sandbox/api/{CONVERSATION}/messages?account=off").status_code == 404
    assert not InboundEvent.objects.exists()


def test_it_refuses_a_telegram_account_as_a_sandbox(client, account):
    ChannelAccountFactory(kind="telegram", name="shop-telegram")

    response = client.get("/sandbox/?account=shop-telegram&start=t")

    assert response.status_code == 404


# --- posting events ---------------------------------------------------------------------------
def test_it_delivers_a_button_press_as_an_inbound_event_and_shows_the_choice(client, account):
    response = post_event(
        client, {"type": "button", "id": "b-1", "text": "Topics", "payload": "topics"}
    )

    assert response.status_code == 200
    event = InboundEvent.objects.get()
    assert (event.kind, event.payload, event.platform_user_id) == ("button", "topics", CONVERSATION)
    assert event.event_id == f"{CONVERSATION}:b-1"
    assert event.account == account
    [(_, choice), (_, reply)] = lines()
    assert choice == {"type": "button", "id": "b-1", "text": "Topics", "payload": "topics"}
    assert RichMessage.from_dict(reply) == RichMessage(text="You pressed topics")
    assert [direction for direction, _ in lines()] == ["in", "out"]


def test_it_starts_a_conversation_once_however_often_the_page_posts_it(client, account):
    start = {"type": "start", "id": "start", "token": "tok-9"}

    post_event(client, start)
    again = post_event(client, start)

    assert again.status_code == 200
    assert InboundEvent.objects.get().token == "tok-9"
    assert [direction for direction, _ in lines()] == ["in", "out"]
    assert lines()[1][1]["text"] == "Welcome! token=tok-9"


def test_it_signs_what_it_delivers_so_the_event_passes_verification(client, account):
    post_event(client, {"type": "text", "id": "t-1", "text": "Hello\n<b>there</b>"})

    event = InboundEvent.objects.get()
    assert (event.kind, event.text) == ("text", "Hello\n<b>there</b>")
    assert event.raw["conversation"] == CONVERSATION
    assert event.locale == "en"


@pytest.mark.parametrize("text", ["a\\u0000b", "half \\ud800 a pair"])
def test_it_answers_400_to_text_the_database_cannot_store(client, account, text):
    # JSON may carry NUL and lone surrogates; PostgreSQL text cannot, and DRF refuses both.
    body = b'{"type": "text", "id": "t-2", "text": "' + text.encode() + b'"}'

    response = post_event(client, body)

    assert response.status_code == 400
    assert "text" in response.json()["errors"]
    assert not SandboxMessage.objects.exists()


def test_it_records_a_read_receipt_without_a_customer_line(client, account):
    response = post_event(client, {"type": "read", "id": "read-5", "message_ids": ["4", "5"]})

    assert response.status_code == 200
    assert InboundEvent.objects.get().message_ids == ["4", "5"]
    assert lines() == []


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"id": "1", "text": "hi"}, "type"),
        ({"type": "sticker", "id": "1"}, "type"),
        ({"type": "text", "text": "hi"}, "id"),
        ({"type": "text", "id": "has space", "text": "hi"}, "id"),
        ({"type": "text", "id": "1"}, "text"),
        ({"type": "text", "id": "1", "text": "   "}, "text"),
        ({"type": "text", "id": "1", "text": "x" * 4097}, "text"),
        ({"type": "text", "id": "1", "text": ["hi"]}, "text"),
        ({"type": "button", "id": "1", "text": "Topics"}, "payload"),
        ({"type": "start", "id": "1", "token": "t" * 256}, "token"),
        ({"type": "read", "id": "1", "message_ids": "5"}, "message_ids"),
        ({"type": "read", "id": "1"}, "message_ids"),
        (b"[]", "body"),
        (b"{not json", "body"),
        (b"\xff\xfe", "body"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_it_answers_400_naming_the_field_at_fault(client, account, event, field):
    response = post_event(client, event)

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not InboundEvent.objects.exists()
    assert not SandboxMessage.objects.exists()


def test_it_answers_400_for_a_conversation_id_it_never_makes(client, account):
    response = post_event(client, {"type": "text", "id": "1", "text": "hi"}, conversation="x")

    assert response.status_code == 400
    assert "conversation" in response.json()["errors"]


def test_it_refuses_a_body_over_16_kb(client, account):
    event = {"type": "text", "id": "1", "text": "hi", "padding": "x" * 16_400}

    response = post_event(client, event)

    assert response.status_code == 413
    assert not InboundEvent.objects.exists()


def test_it_requires_the_pages_csrf_token(account):
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(f"/sandbox/?start=t&c={CONVERSATION}")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    event = json.dumps({"type": "text", "id": "1", "text": "hi"})
    url = f"/sandbox/api/{CONVERSATION}/events"

    forged = browser.post(url, event, content_type="application/json")
    sent = browser.post(url, event, content_type="application/json", HTTP_X_CSRFTOKEN=token)

    assert forged.status_code == 403
    assert sent.status_code == 200
    assert InboundEvent.objects.count() == 1


def test_it_accepts_events_only_by_post(client, account):
    response = client.get(f"/sandbox/api/{CONVERSATION}/events")

    assert response.status_code == 405


# --- polling ----------------------------------------------------------------------------------
def test_it_lists_the_lines_after_the_given_id(client, account):
    provider = account.provider()
    first = int(provider.send(CONVERSATION, RichMessage(text="one")))
    post_event(client, {"type": "text", "id": "t-1", "text": "two"})
    provider.send(CONVERSATION, RichMessage(text="three", buttons=(Button("Go", url="https://x"),)))
    provider.send("conv-someone-else", RichMessage(text="not yours"))

    response = client.get(f"/sandbox/api/{CONVERSATION}/messages?after={first}")

    assert response.status_code == 200
    listed = response.json()
    assert [(line["direction"], line["body"]["text"]) for line in listed] == [
        ("in", "two"),
        ("out", "three"),
    ]
    assert listed[1]["body"]["buttons"] == [{"text": "Go", "url": "https://x", "payload": ""}]
    assert listed[0]["id"] < listed[1]["id"]
    assert {"id", "direction", "body", "created_at"} == set(listed[1])


def test_it_lists_the_whole_conversation_without_after(client, account):
    account.provider().send(CONVERSATION, RichMessage(text="hello"))

    listed = client.get(f"/sandbox/api/{CONVERSATION}/messages").json()

    assert [line["body"]["text"] for line in listed] == ["hello"]


@pytest.mark.parametrize("after", ["-1", "abc", "1.5", "²", "١٢"])  # superscript, Arabic digits
def test_it_answers_400_for_a_bad_after(client, account, after):
    response = client.get(f"/sandbox/api/{CONVERSATION}/messages?after={after}")

    assert response.status_code == 400
    assert "after" in response.json()["errors"]
