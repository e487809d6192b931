"""The sandbox adapter: deep links, signed webhooks, parsing, rendering and local sends."""

import json

import pytest

from channels.errors import MalformedPayload
from channels.events import EventKind
from channels.messages import Button, Card, RichMessage
from channels.models import InboundEvent, SandboxMessage
from channels.providers.base import Reply, SendOptions, WebhookRequest
from channels.providers.sandbox.provider import SandboxProvider
from channels.providers.sandbox.render import MAX_CARDS, MAX_TEXT
from tests.channels.webhooks import hmac_hex, post_json
from tests.factories import ChannelAccountFactory

pytestmark = pytest.mark.django_db

HANDLER = "tests.channels.test_sandbox_provider.echo_handler"


def echo_handler(event: InboundEvent) -> list[Reply]:
    """Answers every typed text with its echo."""
    if event.kind != EventKind.TEXT:
        return []
    return [Reply(event.platform_user_id, RichMessage(text=f"echo: {event.text}"))]


@pytest.fixture
def account():
    # Migration 0002 made it; get_or_create keeps the test whole after a transactional flush.
    return ChannelAccountFactory(kind="sandbox", name="sandbox")


@pytest.fixture
def provider(account) -> SandboxProvider:
    return account.provider()


def signed(account, payload: dict | bytes) -> WebhookRequest:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return WebhookRequest(
        method="POST",
        body=body,
        headers={"x-sandbox-signature": hmac_hex(account.webhook_secret, body)},
    )


# --- deep links -------------------------------------------------------------------------------
def test_it_links_to_the_sandbox_page_with_the_token(provider, settings):
    settings.PUBLIC_BASE_URL = "https://comeback.test"

    link = provider.deep_link("AbC_12-x")

    assert link == "https://comeback.test/sandbox/?start=AbC_12-x"


def test_it_names_a_second_sandbox_account_in_the_link(settings):
    settings.PUBLIC_BASE_URL = "https://comeback.test"
    other = ChannelAccountFactory(kind="sandbox", name="demo-2")

    link = other.provider().deep_link("tok")

    assert link == "https://comeback.test/sandbox/?start=tok&account=demo-2"


# --- verification -----------------------------------------------------------------------------
def test_it_accepts_a_body_signed_with_the_account_secret(account, provider):
    request = signed(account, {"conversation": "c1", "type": "text", "id": "1", "text": "hi"})

    assert provider.verify(request) is True


@pytest.mark.parametrize(
    "signature",
    ["", "0" * 64, "not-hex", "wrong-secret"],
    ids=["missing", "zeros", "garbage", "other-secret"],
)
def test_it_rejects_a_wrong_or_missing_signature(account, provider, signature):
    body = b'{"conversation":"c1","type":"text","id":"1","text":"hi"}'
    if signature == "wrong-secret":
        signature = hmac_hex("someone-elses-secret", body)
    headers = {"x-sandbox-signature": signature} if signature else {}

    verified = provider.verify(WebhookRequest(method="POST", body=body, headers=headers))

    assert verified is False


def test_it_rejects_a_signature_made_for_another_body(account, provider):
    request = signed(account, {"conversation": "c1", "type": "text", "id": "1", "text": "hi"})
    tampered = WebhookRequest(
        method="POST", body=request.body.replace(b"hi", b"yo"), headers=request.headers
    )

    assert provider.verify(tampered) is False


# --- parsing ----------------------------------------------------------------------------------
def test_it_parses_a_start_with_its_token(account, provider):
    request = signed(
        account,
        {
            "conversation": "conv-1",
            "type": "start",
            "id": "start",
            "token": "tok-123",
            "name": "Ann",
            "locale": "uk",
        },
    )

    [event] = provider.parse(request)

    assert event.kind == EventKind.START
    assert event.token == "tok-123"
    assert event.platform_user_id == "conv-1"
    assert event.event_id == "conv-1:start"
    assert (event.user_name, event.locale) == ("Ann", "uk")


def test_it_parses_typed_text(account, provider):
    request = signed(
        account, {"conversation": "conv-1", "type": "text", "id": "7", "text": "Hi\nthere"}
    )

    [event] = provider.parse(request)

    assert (event.kind, event.text, event.event_id) == (EventKind.TEXT, "Hi\nthere", "conv-1:7")


def test_it_parses_a_button_press_with_its_payload(account, provider):
    request = signed(
        account,
        {"conversation": "conv-1", "type": "button", "id": "b1", "payload": "topics", "text": "T"},
    )

    [event] = provider.parse(request)

    assert (event.kind, event.payload) == (EventKind.BUTTON, "topics")


def test_it_parses_a_read_receipt_with_message_ids(account, provider):
    request = signed(
        account,
        {"conversation": "conv-1", "type": "read", "id": "read-9", "message_ids": ["8", "9"]},
    )

    [event] = provider.parse(request)

    assert (event.kind, event.message_ids) == (EventKind.READ, ("8", "9"))


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"type": "text", "id": "1", "text": "hi"}',
        b'{"conversation": "c", "type": "sticker", "id": "1"}',
        b'{"conversation": "c", "type": "text", "text": "hi"}',
        b'{"conversation": "c", "type": "text", "id": "1"}',
        b'{"conversation": "c", "type": "button", "id": "1"}',
        b'{"conversation": "c", "type": "text", "id": 1, "text": "hi"}',
        b'{"conversation": "c", "type": "read", "id": "1", "message_ids": "9"}',
        json.dumps({"conversation": "c" * 65, "type": "start", "id": "1"}).encode(),
    ],
    ids=[
        "not-json",
        "not-object",
        "no-conversation",
        "unknown-type",
        "no-id",
        "text-without-text",
        "button-without-payload",
        "id-not-string",
        "ids-not-list",
        "conversation-too-long",
    ],
)
def test_it_refuses_to_parse_a_malformed_body(account, provider, body):
    with pytest.raises(MalformedPayload):
        provider.parse(signed(account, body))


# --- messages out -----------------------------------------------------------------------------
def test_it_renders_every_block_of_a_rich_message(provider):
    message = RichMessage(
        text="Menu",
        image_url="https://shop.test/menu.jpg",
        buttons=(Button("Order", url="https://shop.test/order"), Button("Later", payload="later")),
        quick_replies=(Button("👍", payload="yes"),),
        cards=(
            Card("Soup", "Tomato", "https://shop.test/soup.jpg", (Button("Add", payload="a"),)),
        ),
    )

    [body] = provider.render(message, SendOptions())

    assert RichMessage.from_dict(body) == message


def test_it_caps_text_and_cards_so_a_runaway_message_cannot_flood_the_page(provider):
    message = RichMessage(text="x" * 10_000, cards=tuple(Card(f"c{i}") for i in range(25)))

    [body] = provider.render(message, SendOptions())

    assert len(body["text"]) == MAX_TEXT
    assert body["text"].endswith("…")
    assert len(body["cards"]) == MAX_CARDS


def test_it_sends_by_writing_a_bot_line_to_the_conversation(account, provider):
    message_id = provider.send("conv-9", RichMessage(text="Hello"))

    row = SandboxMessage.objects.get(pk=int(message_id))
    assert (row.account, row.conversation, row.direction) == (account, "conv-9", "out")
    assert row.body["text"] == "Hello"


def test_it_sends_replies_at_once_instead_of_leaving_them_to_a_worker(provider):
    replies = [Reply("conv-3", RichMessage(text="one")), Reply("conv-3", RichMessage(text="two"))]

    response, remaining = provider.respond([], replies)

    assert remaining == []
    assert response.status_code == 200
    texts = [r.body["text"] for r in SandboxMessage.objects.filter(conversation="conv-3")]
    assert texts == ["one", "two"]
    assert json.loads(response.content)["sent"] == [
        str(pk) for pk in SandboxMessage.objects.values_list("pk", flat=True)
    ]


def test_it_has_no_webhook_to_register(provider, caplog):
    caplog.set_level("INFO", logger="channels.providers.sandbox")

    provider.register_webhook("https://comeback.test/hooks/sandbox/")

    assert "no webhook to register" in caplog.text


# --- through the webhook endpoint -------------------------------------------------------------
@pytest.mark.parametrize("signature", [None, "0" * 64], ids=["unsigned", "forged"])
def test_it_answers_a_forged_webhook_with_403_and_stores_nothing(client, account, signature):
    payload = {"conversation": "c-forged", "type": "start", "id": "start", "token": "stolen"}
    headers = {} if signature is None else {"X-Sandbox-Signature": signature}

    response = post_json(client, account, payload, **headers)

    assert response.status_code == 403
    assert not InboundEvent.objects.exists()


def test_it_answers_a_signed_but_malformed_body_with_400(client, account):
    body = b'{"conversation": "c1", "type": "teleport", "id": "1"}'

    response = post_json(
        client, account, body, **{"X-Sandbox-Signature": hmac_hex(account.webhook_secret, body)}
    )

    assert response.status_code == 400
    assert not InboundEvent.objects.exists()


def test_it_stores_a_signed_event_and_writes_the_reply_right_away(client, account, settings):
    settings.INBOUND_EVENT_HANDLERS = [HANDLER]
    body = json.dumps({"conversation": "c-ok", "type": "text", "id": "1", "text": "hi"}).encode()

    response = post_json(
        client, account, body, **{"X-Sandbox-Signature": hmac_hex(account.webhook_secret, body)}
    )

    assert response.status_code == 200
    event = InboundEvent.objects.get()
    assert (event.kind, event.text, event.event_id) == ("text", "hi", "c-ok:1")
    assert event.processed_at is not None
    reply = SandboxMessage.objects.get(conversation="c-ok")
    assert (reply.direction, reply.body["text"]) == ("out", "echo: hi")
