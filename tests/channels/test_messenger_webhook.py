"""Messenger webhooks through the real view: each captured event type becomes the right event."""

import json
from datetime import UTC, datetime

import pytest

from channels.providers.base import WebhookRequest
from tests.channels.test_meta import post_signed
from tests.channels.webhooks import assert_stored_nothing, fixture, stored_event
from tests.factories import ChannelAccountFactory

PSID = "24011849251814325"
GET_STARTED_MID = (
    "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplwlqLP_5cgXIbu7I3rBN0P"
)
TOKEN = "tok_6rX0aQbV2nH8sLk4PzW1yE"
OFFICIAL_WATERMARK = datetime(2016, 3, 22, 17, 47, 36, 253000, tzinfo=UTC)

# fixture name -> the one stored row it must produce (only the fields that matter for it).
EXPECTED = {
    "official_message_deliveries_enveloped": {
        "kind": "delivered",
        "platform_user_id": "<PSID>",
        "event_id": "delivered:<PSID>:1458668856253",
        "message_ids": ["mid.1458668856218:ed81099e15d3f4f233"],
        "watermark": OFFICIAL_WATERMARK,
    },
    "official_message_reads_enveloped": {
        "kind": "read",
        "platform_user_id": "<PSID>",
        "event_id": "read:<PSID>:1458668856253",
        "watermark": OFFICIAL_WATERMARK,
        "occurred_at": datetime(2016, 3, 22, 17, 47, 36, 463000, tzinfo=UTC),
    },
    "official_messaging_postbacks_with_referral_enveloped": {
        "kind": "start",
        "platform_user_id": "USER-REF-ID",
        "event_id": "m_MESSAGE-ID",
        "token": "USER-DEFINED-REFERRAL-PARAM",
        "payload": "USER-DEFINED-PAYLOAD",
        "occurred_at": datetime(2018, 5, 27, 22, 23, 44, tzinfo=UTC),
    },
    "start_via_postback": {
        "kind": "start",
        "platform_user_id": PSID,
        "token": TOKEN,
        "payload": "GET_STARTED",
        "event_id": GET_STARTED_MID,
    },
    "start_via_referral": {
        "kind": "start",
        "platform_user_id": PSID,
        "token": TOKEN,
        "event_id": f"start:{PSID}:1767225700000",
    },
    "quick_reply": {
        "kind": "button",
        "payload": "SURVEY_SCORE_5",
        "text": "5 ⭐",
        "event_id": "m_1457764197618:41d102a3e1ae206a38",
    },
    "postback_button": {
        "kind": "button",
        "payload": "MENU_WEEK",
        "text": "This week's menu",
        "event_id": "m_1457764197618:41d102a3e1ae206a39",
    },
    "text": {
        "kind": "text",
        "platform_user_id": PSID,
        "text": "Do you deliver on Sundays?",
        "event_id": "m_1457764197618:41d102a3e1ae206a40",
        "occurred_at": datetime(2026, 1, 1, 0, 6, 40, tzinfo=UTC),
    },
    "echo": {"kind": "unknown", "reason": "echo of a message the page sent"},
    "delivery": {
        "kind": "delivered",
        "message_ids": [],
        "watermark": datetime(2026, 1, 1, 0, 9, 59, tzinfo=UTC),
        "event_id": f"delivered:{PSID}:1767226199000",
    },
    "read": {
        "kind": "read",
        "watermark": datetime(2026, 1, 1, 0, 11, 39, tzinfo=UTC),
        "event_id": f"read:{PSID}:1767226299000",
    },
    "optin_stop": {
        "kind": "marketing_stopped",
        "platform_user_id": PSID,
        "reason": "stopped marketing messages",
        "event_id": f"marketing_stopped:{PSID}:1767226400000",
    },
    "optin_resume": {
        "kind": "marketing_resumed",
        "reason": "resumed marketing messages",
        "event_id": f"marketing_resumed:{PSID}:1767226400000",
    },
}


@pytest.fixture
def account(db, no_handlers):
    return ChannelAccountFactory(kind="messenger")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_it_stores_each_event_type_as_its_normalized_event(client, account, name):
    payload = fixture("messenger", name)

    response = post_signed(client, account, payload)

    row = stored_event(response, account)
    assert {field: getattr(row, field) for field in EXPECTED[name]} == EXPECTED[name]
    assert row.raw  # the platform's own item is kept


def test_it_answers_400_to_an_official_item_without_its_page_envelope(client, account):
    response = post_signed(client, account, fixture("messenger", "official_message_deliveries"))

    assert_stored_nothing(response, 400)


def test_it_reads_every_item_of_a_batched_entry(account):
    payload = fixture("messenger", "text")
    items = payload["entry"][0]["messaging"]
    items.append(fixture("messenger", "read")["entry"][0]["messaging"][0])

    events = account.provider().parse(_request(payload))

    assert [e.kind for e in events] == ["text", "read"]
    assert len({e.event_id for e in events}) == 2


def test_it_keeps_events_addressed_to_another_page_unknown(account):
    payload = fixture("messenger", "start_via_referral")
    payload["entry"][0]["id"] = "2000002"

    [event] = account.provider().parse(_request(payload))

    assert event.kind == "unknown"
    assert event.token == ""
    assert "2000002" in event.reason


def test_it_gives_an_unknown_item_the_same_id_on_redelivery(account):
    reaction = {"sender": {"id": PSID}, "recipient": {"id": "1000001"}, "timestamp": 1,
                "reaction": {"mid": "m_1", "action": "react", "emoji": "❤"}}  # fmt: skip
    payload = {"object": "page", "entry": [{"id": "1000001", "time": 1, "messaging": [reaction]}]}

    first = account.provider().parse(_request(payload))
    again = account.provider().parse(_request(payload))

    assert first[0].kind == "unknown"
    assert first[0].event_id == again[0].event_id


def _request(payload) -> WebhookRequest:
    return WebhookRequest(method="POST", body=json.dumps(payload).encode())
