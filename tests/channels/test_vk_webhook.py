"""VK Callback API through the real view: confirmation, secret, parse, store once, "ok"."""

import json

import pytest

from channels.events import EventKind
from channels.models import InboundEvent
from tests.channels.webhooks import (
    assert_stored_nothing,
    assert_string_fields,
    fixture,
    fixture_names,
    post_json,
    signed,
    stored_event,
)
from tests.factories import ChannelAccountFactory

USER = "7770001"

# fixture name -> the fields of the one event it must become (unnamed fields stay empty).
EXPECTED = {
    # The official example has no event_id (older API versions): type, user and a hash.
    "official_devvk_event_envelope_example_group_join": {
        "kind": EventKind.UNKNOWN,
        "platform_user_id": "1",
        "event_id": "group_join:1:",  # a prefix: the rest is a hash of the object
    },
    "message_new_ref": {
        "kind": EventKind.START,
        "platform_user_id": USER,
        "event_id": "3f1c6b8a2d9e4f70a1b2c3d4e5f60718293a4b5c",
        "token": "Ab3_x-9KqLw2",
        "text": "Начать",
    },
    "message_new_start_button": {
        "kind": EventKind.START,
        "platform_user_id": USER,
        "event_id": "4a2d7c9b3e0f5a81b2c3d4e5f6071829304a5b6c",
        "text": "Начать",
    },
    "message_new_button": {
        "kind": EventKind.BUTTON,
        "platform_user_id": USER,
        "event_id": "5b3e8d0c4f1a6b92c3d4e5f607182930415b6c7d",
        "payload": "csat:42:5",
        "text": "Отлично",
    },
    "message_new_text": {
        "kind": EventKind.TEXT,
        "platform_user_id": USER,
        "event_id": "6c4f9e1d5a2b7c03d4e5f60718293041526c7d8e",
        "text": "Борщ был вегетарианский? 🍲",
    },
    "message_event": {
        "kind": EventKind.BUTTON,
        "platform_user_id": USER,
        "event_id": "7d5a0f2e6b3c8d14e5f6071829304152637d8e9f",
        "payload": "menu:next-week",
    },
    "message_allow": {
        "kind": EventKind.RESUBSCRIBED,
        "platform_user_id": USER,
        "event_id": "8e6b1a3f7c4d9e25f607182930415263748e9fa0",
        "token": "Ab3_x-9KqLw2",
    },
    "message_deny": {
        "kind": EventKind.BLOCKED,
        "platform_user_id": USER,
        "event_id": "9f7c2b4a8d5e0f36071829304152637485f9a0b1",
        "reason": "denied messages from the community",
    },
    "message_read": {
        "kind": EventKind.READ,
        "platform_user_id": USER,
        "event_id": "a08d3c5b9e6f1a47182930415263748596a0b1c2",
        "message_ids": ["1043"],
    },
    # The community's own message echoed back: the customer is the peer, not the sender.
    "message_reply": {
        "kind": EventKind.UNKNOWN,
        "platform_user_id": USER,
        "event_id": "b19e4d6c0f7a2b58293041526374859607b1c2d3",
    },
    "message_typing_state": {
        "kind": EventKind.UNKNOWN,
        "platform_user_id": USER,
        "event_id": "c2af5e7d1a8b3c693041526374859607180c2d3e",
    },
}
HANDSHAKES = {"confirmation"}
pytestmark = pytest.mark.usefixtures("no_handlers")


@pytest.fixture
def account(db):
    return ChannelAccountFactory(kind="vk")


def ours(account, payload: dict, **changes) -> dict:
    """`payload` as VK would send it to this account: its group_id and callback secret."""
    group = int(account.credentials["group_id"])
    return {**payload, "group_id": group, "secret": account.credentials["secret"], **changes}


def test_it_has_an_expectation_for_every_fixture():
    names = set(fixture_names("vk"))

    assert names == set(EXPECTED) | HANDSHAKES


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_it_parses_and_stores_each_event_type(client, account, name):
    expected = EXPECTED[name]
    payload = ours(account, fixture("vk", name))

    response = post_json(client, account, payload)

    row = stored_event(response, account)
    assert (response.content, response["Content-Type"]) == (b"ok", "text/plain")
    assert row.kind == expected["kind"].value
    assert row.platform_user_id == expected["platform_user_id"]
    assert row.event_id.startswith(expected["event_id"])
    assert row.message_ids == expected.get("message_ids", [])
    assert_string_fields(row, expected)
    assert row.raw == {key: value for key, value in payload.items() if key != "secret"}


def test_it_never_stores_the_callback_secret(client, account):
    post_json(client, account, ours(account, fixture("vk", "message_new_text")))

    row = InboundEvent.objects.get()
    assert "secret" not in row.raw
    assert account.credentials["secret"] not in json.dumps(row.raw)


def test_it_answers_the_confirmation_request_with_the_code(client, account):
    payload = {"type": "confirmation", "group_id": 200001}

    response = post_json(client, account, payload)

    assert response.status_code == 200
    assert response.content == b"a1b2c3d4"
    assert response["Content-Type"].startswith("text/plain")
    assert InboundEvent.objects.count() == 0


def test_it_answers_a_confirmation_request_carrying_the_right_secret(client, account):
    response = post_json(client, account, ours(account, fixture("vk", "confirmation")))

    assert (response.status_code, response.content) == (200, b"a1b2c3d4")


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "confirmation", "group_id": 999},
        {"type": "confirmation", "group_id": 200001, "secret": "guessed"},
    ],
)
def test_it_refuses_a_confirmation_for_another_group_or_with_a_wrong_secret(
    client, account, payload
):
    response = post_json(client, account, payload)

    assert response.status_code == 403
    assert b"a1b2c3d4" not in response.content


@pytest.mark.parametrize(
    "changes",
    [{"secret": "guessed-secret"}, {"secret": ""}, {"group_id": 999}, {"group_id": "200001x"}],
)
def test_it_rejects_a_wrong_secret_or_group_without_storing_anything(client, account, changes):
    payload = ours(account, fixture("vk", "message_new_ref"), **changes)

    response = post_json(client, account, payload)

    assert_stored_nothing(response, 403)


def test_it_rejects_an_event_without_a_secret(client, account):
    payload = ours(account, fixture("vk", "message_new_ref"))
    del payload["secret"]

    response = post_json(client, account, payload)

    assert_stored_nothing(response, 403)


def test_it_rejects_a_body_that_is_not_json(client, account):
    # VK's secret travels inside the JSON: a body that is not JSON cannot be verified.
    response = post_json(client, account, b"not json")

    assert_stored_nothing(response, 403)


@pytest.mark.parametrize(
    "changes",
    [
        {"type": None},  # no event type
        {"object": "not an object"},
        {"type": "message_deny", "object": {}},  # no user id
        {"type": "message_new", "object": {"message": {"text": "hi"}}},  # no sender
    ],
)
def test_it_answers_400_to_a_verified_but_malformed_body(client, account, changes):
    payload = ours(account, fixture("vk", "message_new_text"), **changes)

    response = post_json(client, account, payload)

    assert_stored_nothing(response, 400)


@pytest.mark.parametrize(
    "name", ["message_new_ref", "official_devvk_event_envelope_example_group_join"]
)
def test_it_stores_a_redelivered_event_once(client, account, name):
    payload = ours(account, fixture("vk", name))

    first = post_json(client, account, payload)
    second = post_json(client, account, payload)

    assert (first.content, second.content) == (b"ok", b"ok")
    assert InboundEvent.objects.filter(account=account).count() == 1


def test_it_keeps_two_events_without_event_id_apart(client, account):
    join = ours(account, fixture("vk", "official_devvk_event_envelope_example_group_join"))

    post_json(client, account, join)
    post_json(client, account, {**join, "object": {"user_id": 1, "join_type": "join"}})

    assert InboundEvent.objects.count() == 2


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ('{"p":"csat:42:5"}', "csat:42:5"),  # our own button
        ('{"button":"1"}', '{"button":"1"}'),  # someone else's: kept as VK sent it
        ("not-json-at-all", "not-json-at-all"),
    ],
)
def test_it_reads_button_payloads_ours_or_not(client, account, payload, expected):
    body = ours(account, fixture("vk", "message_new_button"))
    body["object"]["message"]["payload"] = payload

    post_json(client, account, body)

    row = InboundEvent.objects.get()
    assert (row.kind, row.payload) == (EventKind.BUTTON.value, expected)


def test_it_decodes_a_webhook_body_once_for_handshake_verify_and_parse(
    client, account, monkeypatch
):
    # VK authenticates inside the body: its three steps each need the JSON
    body, _ = signed(account, fixture("vk", "message_new_ref"))
    decoded = []
    real_loads = json.loads

    def loads(text, *args, **kwargs):
        decoded.append(text == body)
        return real_loads(text, *args, **kwargs)

    monkeypatch.setattr(json, "loads", loads)

    response = post_json(client, account, body)

    assert response.status_code == 200
    assert decoded.count(True) == 1
