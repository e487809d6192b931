"""Telegram webhooks through the real view: verify, parse, store once, answer."""

import json
from datetime import UTC, datetime

import pytest

from channels.events import EventKind
from channels.models import InboundEvent
from tests.channels.webhooks import (
    assert_stored_nothing,
    assert_stored_once,
    assert_string_fields,
    fixture,
    fixture_names,
    post_json,
    stored_event,
)
from tests.factories import ChannelAccountFactory

HEADER = "X-Telegram-Bot-Api-Secret-Token"

# fixture name -> the fields of the one event it must become (unnamed fields stay empty).
EXPECTED = {
    "official_webhooks_guide_message_start": {
        "kind": EventKind.START,
        "platform_user_id": "1111111",
        "event_id": "10000",
        "text": "/start",
        "user_name": "Test Firstname",
    },
    "official_webhooks_guide_callback_query": {
        "kind": EventKind.BUTTON,
        "platform_user_id": "1111111",
        "event_id": "10000",
        "payload": "Data from button callback",
        "user_name": "Test Firstname",
    },
    "message_start_token": {
        "kind": EventKind.START,
        "platform_user_id": "5550001",
        "event_id": "735200001",
        "token": "Ab3_x-9KqLw2",
        "text": "/start Ab3_x-9KqLw2",
        "user_name": "Olga",
        "locale": "ru",
    },
    "message_text": {
        "kind": EventKind.TEXT,
        "platform_user_id": "5550001",
        "event_id": "735200002",
        "text": "Was the borscht vegetarian? 🍲",
        "user_name": "Olga",
        "locale": "ru",
    },
    "message_photo": {
        "kind": EventKind.UNKNOWN,
        "platform_user_id": "5550001",
        "event_id": "735200003",
        "reason": "message without text",
        "user_name": "Olga",
        "locale": "ru",
    },
    "callback_query": {
        "kind": EventKind.BUTTON,
        "platform_user_id": "5550001",
        "event_id": "735200004",
        "payload": "csat:42:5",
        "user_name": "Olga",
        "locale": "ru",
    },
    "my_chat_member_kicked": {
        "kind": EventKind.BLOCKED,
        "platform_user_id": "5550001",
        "event_id": "735200005",
        "reason": "blocked the bot",
        "user_name": "Olga",
        "locale": "ru",
    },
    "my_chat_member_member": {
        "kind": EventKind.RESUBSCRIBED,
        "platform_user_id": "5550001",
        "event_id": "735200006",
        "user_name": "Olga",
        "locale": "ru",
    },
    # The bot added to a group is no opt-in: stored, nothing else.
    "my_chat_member_group_added": {
        "kind": EventKind.UNKNOWN,
        "platform_user_id": "5550001",
        "event_id": "735200007",
        "user_name": "Olga",
        "locale": "ru",
    },
    "edited_message": {
        "kind": EventKind.UNKNOWN,
        "platform_user_id": "5550001",
        "event_id": "735200008",
        "user_name": "Olga",
        "locale": "ru",
    },
}
pytestmark = pytest.mark.usefixtures("no_handlers")


@pytest.fixture
def account(db):
    return ChannelAccountFactory(kind="telegram")


def deliver(client, account, payload, secret: str | None = None):
    """POST `payload` the way Telegram does, with the webhook's secret token header."""
    return post_json(client, account, payload, **{HEADER: secret or account.webhook_secret})


def test_it_has_an_expectation_for_every_fixture():
    names = set(fixture_names("telegram"))

    assert names == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_it_parses_and_stores_each_update_type(client, account, name):
    expected = EXPECTED[name]

    response = deliver(client, account, fixture("telegram", name))

    row = stored_event(response, account)
    assert row.kind == expected["kind"].value
    assert row.platform_user_id == expected["platform_user_id"]
    assert row.event_id == expected["event_id"]
    assert_string_fields(row, expected)
    assert row.raw == fixture("telegram", name)


def test_it_takes_the_time_from_the_message_date(client, account):
    deliver(client, account, fixture("telegram", "message_start_token"))

    row = InboundEvent.objects.get()
    assert row.occurred_at == datetime.fromtimestamp(1767261600, UTC)


def test_it_answers_a_button_press_in_the_webhook_response(client, account):
    response = deliver(client, account, fixture("telegram", "callback_query"))

    assert response.status_code == 200
    assert json.loads(response.content) == {
        "method": "answerCallbackQuery",
        "callback_query_id": "4382bfdwdsb323b2d9",
    }


def test_it_answers_other_updates_with_a_plain_ok(client, account):
    response = deliver(client, account, fixture("telegram", "message_text"))

    assert response.status_code == 200
    assert response.content == b"ok"


@pytest.mark.parametrize("secret", ["wrong-secret", " ", "x" * 64])
def test_it_rejects_a_wrong_secret_token_without_storing_anything(client, account, secret):
    response = deliver(client, account, fixture("telegram", "message_start_token"), secret=secret)

    assert_stored_nothing(response, 403)


def test_it_rejects_a_request_without_the_secret_token_header(client, account):
    response = post_json(client, account, fixture("telegram", "message_start_token"))

    assert_stored_nothing(response, 403)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"",
        b"[1, 2]",
        b'"update"',
        json.dumps({"message": {"text": "hi"}}).encode(),  # no update_id
        json.dumps({"update_id": "12", "message": {}}).encode(),  # update_id not a number
        json.dumps({"update_id": 12, "message": {"text": "hi", "date": 1}}).encode(),  # no sender
    ],
)
def test_it_answers_400_to_a_malformed_body(client, account, body):
    response = deliver(client, account, body)

    assert_stored_nothing(response, 400)


def test_it_stores_a_redelivered_update_once(client, account):
    payload = fixture("telegram", "message_start_token")

    assert_stored_once(lambda: deliver(client, account, payload), account)
