"""Viber callbacks through the real view: signature, parse, store once, the welcome answer."""

import json

import pytest
from django.utils import timezone

from channels.events import EventKind, NormalizedEvent
from channels.messages import Button, RichMessage
from channels.models import InboundEvent
from channels.providers.base import Reply
from tests.channels.webhooks import (
    assert_stored_nothing,
    assert_stored_once,
    assert_string_fields,
    fixture,
    fixture_names,
    hmac_hex,
    post_json,
    stored_event,
)
from tests.factories import ChannelAccountFactory

HEADER = "X-Viber-Content-Signature"
OLGA = "pttm25kSGUo1919sBORWyA=="

# fixture name -> the fields of the one event it must become (unnamed fields stay empty).
EXPECTED = {
    "official_creators_conversation_started": {
        "kind": EventKind.START,
        "platform_user_id": "01234567890A=",
        "event_id": "conversation_started:4912661846655238145",
        "token": "context information",
        "user_name": "John McClane",
        "locale": "en",
    },
    "official_creators_seen": {
        "kind": EventKind.READ,
        "platform_user_id": "jc9HsWTZ2Yf2NkRZ8KcNug==",
        "event_id": "seen:4912661846655238145:jc9HsWTZ2Yf2NkRZ8KcNug==",
        "message_ids": ["4912661846655238145"],
    },
    "conversation_started_token": {
        "kind": EventKind.START,
        "platform_user_id": OLGA,
        "event_id": "conversation_started:5914627451234567891",
        "token": "Ab3_x-9KqLw2",
        "user_name": "Olga",
        "locale": "ru",
    },
    "message_text": {
        "kind": EventKind.TEXT,
        "platform_user_id": OLGA,
        "event_id": "message:5914627451234567999",
        "text": "Was the borscht vegetarian? 🍲",
        "user_name": "Olga",
        "locale": "ru",
    },
    # Our reply button's ActionBody ("cb:<payload>") comes back as the message text.
    "message_button": {
        "kind": EventKind.BUTTON,
        "platform_user_id": OLGA,
        "event_id": "message:5914627451234568111",
        "payload": "csat:42:5",
        "text": "cb:csat:42:5",
        "user_name": "Olga",
        "locale": "ru",
    },
    "message_picture": {
        "kind": EventKind.UNKNOWN,
        "platform_user_id": OLGA,
        "event_id": "message:5914627451234568222",
        "reason": "picture message",
        "user_name": "Olga",
        "locale": "ru",
    },
    "subscribed": {
        "kind": EventKind.RESUBSCRIBED,
        "platform_user_id": OLGA,
        "event_id": "subscribed:5914627451234568333",
        "user_name": "Olga",
        "locale": "ru",
    },
    "unsubscribed": {
        "kind": EventKind.BLOCKED,
        "platform_user_id": OLGA,
        "event_id": "unsubscribed:5914627451234568444",
        "reason": "unsubscribed",
    },
    "delivered": {
        "kind": EventKind.DELIVERED,
        "platform_user_id": OLGA,
        "event_id": f"delivered:5000000000000000042:{OLGA}",
        "message_ids": ["5000000000000000042"],
    },
    "failed": {
        "kind": EventKind.UNKNOWN,
        "platform_user_id": OLGA,
        "event_id": f"failed:5000000000000000043:{OLGA}",
        "message_ids": ["5000000000000000043"],
        "reason": "failure description",
    },
    "unknown_event_type": {
        "kind": EventKind.UNKNOWN,
        "platform_user_id": OLGA,
        "event_id": "some_future_event:5914627451234569000",
    },
}
NO_EVENTS = {"webhook"}  # set_webhook's check callback: answered 200, nothing stored
pytestmark = pytest.mark.usefixtures("no_handlers")


def welcome_handler(event: InboundEvent) -> list[Reply]:
    """A stand-in for the apps' handlers: greet whoever opens the chat."""
    if event.kind != EventKind.START:
        return []
    buttons = (Button("Subscribe", payload="sub:start"),)
    return [Reply(event.platform_user_id, RichMessage(text="Welcome!", buttons=buttons))]


@pytest.fixture
def account(db):
    return ChannelAccountFactory(kind="viber")


def deliver(client, account, payload, key: str | None = None):
    """POST `payload` the way Viber does: raw bytes signed with the bot's auth token."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signature = hmac_hex(key or account.credentials["auth_token"], body)
    return post_json(client, account, body, **{HEADER: signature})


def test_it_has_an_expectation_for_every_fixture():
    names = set(fixture_names("viber"))

    assert names == set(EXPECTED) | NO_EVENTS


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_it_parses_and_stores_each_callback_type(client, account, name):
    expected = EXPECTED[name]

    response = deliver(client, account, fixture("viber", name))

    row = stored_event(response, account)
    assert row.kind == expected["kind"].value
    assert row.platform_user_id == expected["platform_user_id"]
    assert row.event_id == expected["event_id"]
    assert row.message_ids == expected.get("message_ids", [])
    assert_string_fields(row, expected)
    assert row.raw == fixture("viber", name)


def test_it_answers_the_set_webhook_check_without_storing_it(client, account):
    response = deliver(client, account, fixture("viber", "webhook"))

    assert_stored_nothing(response, 200)


def test_it_takes_the_time_from_the_millisecond_timestamp(client, account):
    deliver(client, account, fixture("viber", "conversation_started_token"))

    row = InboundEvent.objects.get()
    assert row.occurred_at.timestamp() == pytest.approx(1767261600.123)


def test_it_keeps_delivered_and_seen_of_one_message_apart(client, account):
    seen = fixture("viber", "official_creators_seen")
    delivered = {**seen, "event": "delivered"}

    deliver(client, account, delivered)
    deliver(client, account, seen)

    kinds = sorted(InboundEvent.objects.values_list("kind", flat=True))
    assert kinds == [EventKind.DELIVERED.value, EventKind.READ.value]


def test_it_keeps_receipts_of_one_broadcast_to_two_users_apart(client, account):
    seen = fixture("viber", "official_creators_seen")

    deliver(client, account, seen)
    deliver(client, account, {**seen, "user_id": OLGA})

    assert InboundEvent.objects.count() == 2


def test_it_rejects_a_wrong_signature_without_storing_anything(client, account):
    response = deliver(client, account, fixture("viber", "message_text"), key="not-the-token")

    assert_stored_nothing(response, 403)


def test_it_rejects_everything_when_the_auth_token_is_missing(client, db):
    account = ChannelAccountFactory(kind="viber", credentials={"uri": "comeback"})

    body = json.dumps(fixture("viber", "message_text")).encode()

    response = post_json(client, account, body, **{HEADER: hmac_hex("", body)})

    assert_stored_nothing(response, 403)


@pytest.mark.parametrize("signature", [None, "", "0" * 64, "deadbeef"])
def test_it_rejects_a_missing_or_malformed_signature(client, account, signature):
    headers = {} if signature is None else {HEADER: signature}

    response = post_json(client, account, fixture("viber", "message_text"), **headers)

    assert_stored_nothing(response, 403)


def test_it_rejects_a_signature_of_a_different_body(client, account):
    signed = json.dumps(fixture("viber", "message_text")).encode()
    signature = hmac_hex(account.credentials["auth_token"], signed)
    tampered = signed.replace(b"vegetarian", b"vegan")

    response = post_json(client, account, tampered, **{HEADER: signature})

    assert_stored_nothing(response, 403)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"",
        b"[]",
        json.dumps({"timestamp": 1767261600000, "message_token": 1}).encode(),  # no event
        json.dumps({"event": "message"}).encode(),  # neither message_token nor timestamp
        json.dumps({"event": "message", "timestamp": 1, "message_token": 5}).encode(),  # no sender
        json.dumps({"event": "seen", "timestamp": 1, "message_token": 5}).encode(),  # no user_id
    ],
)
def test_it_answers_400_to_a_malformed_body(client, account, body):
    response = deliver(client, account, body)

    assert_stored_nothing(response, 400)


def test_it_stores_a_redelivered_callback_once(client, account):
    payload = fixture("viber", "message_button")

    assert_stored_once(lambda: deliver(client, account, payload), account)


def test_it_answers_conversation_started_with_the_welcome_message(client, account, settings):
    settings.INBOUND_EVENT_HANDLERS = [f"{__name__}.welcome_handler"]

    response = deliver(client, account, fixture("viber", "conversation_started_token"))

    assert response.status_code == 200
    assert json.loads(response.content) == {
        "sender": {"name": "shop-viber"},
        "type": "text",
        "text": "Welcome!",
        "keyboard": {
            "Type": "keyboard",
            "DefaultHeight": False,
            "Buttons": [
                {
                    "Columns": 6,
                    "Rows": 1,
                    "Text": "Subscribe",
                    "ActionType": "reply",
                    "ActionBody": "cb:sub:start",
                    "Silent": True,
                }
            ],
        },
    }


# --- respond() directly --------------------------------------------------------------------
def started(user: str, subscribed: bool = False) -> NormalizedEvent:
    raw = {"event": "conversation_started", "subscribed": subscribed}
    return NormalizedEvent(EventKind.START, user, f"cs:{user}", timezone.now(), raw=raw)


def test_it_puts_one_welcome_into_the_body_and_returns_other_replies(db):
    provider = ChannelAccountFactory(kind="viber").provider()
    welcome = Reply(OLGA, RichMessage(text="Welcome"))
    other = Reply("someone-else", RichMessage(text="Hello"))

    response, to_send = provider.respond([started(OLGA)], [welcome, other])

    body = json.loads(response.content)
    assert body == {"sender": {"name": "shop-viber"}, "type": "text", "text": "Welcome"}
    assert "receiver" not in body
    assert to_send == [other]


def test_it_drops_a_second_reply_to_a_customer_who_is_not_subscribed(db):
    provider = ChannelAccountFactory(kind="viber").provider()
    replies = [Reply(OLGA, RichMessage(text="Welcome")), Reply(OLGA, RichMessage(text="More"))]

    response, to_send = provider.respond([started(OLGA)], replies)

    assert json.loads(response.content)["text"] == "Welcome"
    assert to_send == []


def test_it_sends_a_second_reply_through_the_api_when_already_subscribed(db):
    provider = ChannelAccountFactory(kind="viber").provider()
    replies = [Reply(OLGA, RichMessage(text="Welcome")), Reply(OLGA, RichMessage(text="More"))]

    _, to_send = provider.respond([started(OLGA, subscribed=True)], replies)

    assert to_send == [replies[1]]


def test_it_answers_ok_when_there_is_nothing_to_welcome(db):
    provider = ChannelAccountFactory(kind="viber").provider()
    reply = Reply(OLGA, RichMessage(text="Thanks"))
    message = NormalizedEvent(EventKind.TEXT, OLGA, "message:1", timezone.now(), raw={})

    response, to_send = provider.respond([message], [reply])

    assert response.content == b"ok"
    assert to_send == [reply]
