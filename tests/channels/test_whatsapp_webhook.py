"""WhatsApp webhooks through the real view: each captured event type becomes the right event."""

import json
from datetime import UTC, datetime

import pytest

from channels.providers.base import WebhookRequest
from channels.providers.whatsapp.provider import subscribe_code
from tests.channels.test_meta import post_signed
from tests.channels.webhooks import fixture, stored_event
from tests.factories import ChannelAccountFactory

WA_ID = "16505551234"
TOKEN = "tok_6rX0aQbV2nH8sLk4PzW1yE"
WAMID = "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="

# fixture name -> the one stored row it must produce (only the fields that matter for it).
EXPECTED = {
    "text_subscribe_code": {
        "kind": "start",
        "platform_user_id": WA_ID,
        "token": TOKEN,
        "text": f"Subscribe: {TOKEN}",
        "user_name": "Sheena Nelson",
        "event_id": "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTVGQjJFQjVBNTRBMDQxNjZBRgA=",
        "occurred_at": datetime(2026, 1, 1, tzinfo=UTC),
    },
    "text": {
        "kind": "text",
        "token": "",
        "text": "Do you deliver on Sundays?",
        "event_id": "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQUIyNjg5MDAzNDJDQkRDMkJERgA=",
    },
    "text_bsuid": {
        "kind": "text",
        "platform_user_id": "US.13491208655302741918",
        "user_name": "Sheena Nelson",
    },
    "button_reply": {
        "kind": "button",
        "platform_user_id": WA_ID,
        "payload": "SURVEY_SCORE_5",
        "text": "5 ⭐",
    },
    "list_reply": {"kind": "button", "payload": "MENU_THURSDAY", "text": "Thursday"},
    "template_button": {"kind": "button", "payload": "STOP_PROMOTIONS", "text": "Stop promotions"},
    "status_delivered": {
        "kind": "delivered",
        "platform_user_id": WA_ID,
        "message_ids": [WAMID],
        "event_id": f"status:{WAMID}:delivered",
        "watermark": None,
    },
    "status_read": {
        "kind": "read",
        "message_ids": [WAMID],
        "event_id": f"status:{WAMID}:read",
    },
    "status_failed_131050": {
        "kind": "marketing_stopped",
        "platform_user_id": WA_ID,
        "reason": "user stopped marketing messages",
        "event_id": f"status:{WAMID}:failed",
    },
    "status_failed_131026": {
        "kind": "unknown",
        "reason": "131026: Message undeliverable",
        "message_ids": [WAMID],
    },
    "user_preferences_stop": {
        "kind": "marketing_stopped",
        "platform_user_id": WA_ID,
        "reason": "stopped marketing messages",
        "event_id": f"preference:{WA_ID}:marketing_messages:stop:1767226500",
    },
    "user_preferences_resume": {
        "kind": "marketing_resumed",
        "reason": "resumed marketing messages",
    },
}


@pytest.fixture
def account(db, no_handlers):
    return ChannelAccountFactory(kind="whatsapp")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_it_stores_each_event_type_as_its_normalized_event(client, account, name):
    payload = fixture("whatsapp", name)

    response = post_signed(client, account, payload)

    row = stored_event(response, account)
    assert {field: getattr(row, field) for field in EXPECTED[name]} == EXPECTED[name]
    assert row.raw


def test_it_keeps_events_for_another_phone_number_unknown(account):
    payload = fixture("whatsapp", "text_subscribe_code")
    payload["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999999999"

    [event] = account.provider().parse(_request(payload))

    assert event.kind == "unknown"
    assert event.token == ""


def test_it_keeps_a_change_of_another_field_unknown_with_a_stable_id(account):
    payload = fixture("whatsapp", "text")
    payload["entry"][0]["changes"][0] = {"field": "account_update", "value": {"event": "X"}}

    first = account.provider().parse(_request(payload))
    again = account.provider().parse(_request(payload))

    assert [e.kind for e in first] == ["unknown"]
    assert first[0].event_id == again[0].event_id


def test_it_keeps_a_sent_status_on_record_only(account):
    payload = fixture("whatsapp", "status_read")
    payload["entry"][0]["changes"][0]["value"]["statuses"][0]["status"] = "sent"

    [event] = account.provider().parse(_request(payload))

    assert event.kind == "unknown"
    assert event.event_id == f"status:{WAMID}:sent"


def test_it_finds_the_subscribe_code_the_deep_link_prefills(account):
    link = account.provider().deep_link(TOKEN)

    assert link == f"https://wa.me/15550001234?text=Subscribe%3A%20{TOKEN}"
    assert subscribe_code(f"Subscribe: {TOKEN}") == TOKEN


@pytest.mark.parametrize(
    ("text", "token"),
    [
        (f"Subscribe: {TOKEN}", TOKEN),
        (f"subscribe {TOKEN} please", TOKEN),
        (f"Hi!\nSUBSCRIBE:{TOKEN}", TOKEN),
        (f"  {TOKEN}\n", TOKEN),
        ("Subscribe: short", ""),
        (f"Subscribe: {'a' * 65}", ""),
        (f"Please {TOKEN}", ""),
        (f"Subscribed! {TOKEN}", ""),
        ("Do you deliver on Sundays?", ""),
    ],
)
def test_it_recognises_a_subscribe_code_only_where_it_stands_alone(text, token):
    assert subscribe_code(text) == token


def _request(payload) -> WebhookRequest:
    return WebhookRequest(method="POST", body=json.dumps(payload).encode())
