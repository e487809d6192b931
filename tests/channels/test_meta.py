"""Contract tests every Meta (Graph API) channel passes: handshake, signature, envelope, errors."""

import json
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError

from channels.errors import ConfigurationError, RecipientGone, RejectedByPolicy, Transient
from channels.models import ChannelAccount, InboundEvent
from channels.providers.meta import GRAPH_ERRORS, Rule, graph_error, meta_time
from tests.channels.connecting import connect_channel
from tests.channels.webhooks import (
    assert_stored_nothing,
    assert_stored_once,
    fixture,
    hmac_hex,
    post_json,
)
from tests.factories import CREDENTIALS, ChannelAccountFactory


def post_signed(client, account, payload, secret: str | None = None):
    """POST `payload` the way Meta does: raw JSON bytes signed with the app secret."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signature = hmac_hex(secret or account.credentials["app_secret"], body)
    return post_json(client, account, body, **{"X-Hub-Signature-256": f"sha256={signature}"})


@pytest.fixture(params=["messenger", "whatsapp"])
def meta_account(request, db, no_handlers):
    return ChannelAccountFactory(kind=request.param)


def handshake(client, account, token: str):
    query = {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "1158201444"}
    return client.get(f"/hooks/{account.name}/", query)


def test_it_answers_the_handshake_with_the_challenge(client, meta_account):
    response = handshake(client, meta_account, meta_account.credentials["verify_token"])

    assert response.status_code == 200
    assert response.content == b"1158201444"
    assert response["Content-Type"].startswith("text/plain")


def test_it_refuses_the_handshake_with_a_wrong_verify_token(client, meta_account):
    response = handshake(client, meta_account, "guessed-token")

    assert response.status_code == 403
    assert b"1158201444" not in response.content


def test_it_refuses_a_get_that_is_no_subscription_handshake(client, meta_account):
    response = client.get(f"/hooks/{meta_account.name}/", {"hub.mode": "unsubscribe"})

    assert response.status_code == 403


def test_it_rejects_a_forged_signature_without_storing_anything(client, meta_account):
    payload = fixture(meta_account.kind, "text")

    response = post_signed(client, meta_account, payload, secret="not-the-app-secret")

    assert_stored_nothing(response, 403)


@pytest.mark.parametrize("header", [None, "", "sha1=abc", "sha256=", "deadbeef"])
def test_it_rejects_a_missing_or_malformed_signature(client, meta_account, header):
    headers = {} if header is None else {"X-Hub-Signature-256": header}

    response = post_json(client, meta_account, fixture(meta_account.kind, "text"), **headers)

    assert_stored_nothing(response, 403)


def test_it_rejects_a_signature_of_a_different_body(client, meta_account):
    signed = json.dumps(fixture(meta_account.kind, "text")).encode()
    signature = hmac_hex(meta_account.credentials["app_secret"], signed)

    tampered = signed.replace(b"Sundays", b"Mondays")
    response = post_json(
        client, meta_account, tampered, **{"X-Hub-Signature-256": f"sha256={signature}"}
    )

    assert_stored_nothing(response, 403)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"entry": []}',
        b'{"object": "page", "entry": {"id": "1"}}',
        b'{"object": "page", "entry": ["x"]}',
        b"\xff\xfe",
    ],
)
def test_it_answers_400_to_a_body_that_is_not_a_meta_envelope(client, meta_account, body):
    response = post_signed(client, meta_account, body)

    assert_stored_nothing(response, 400)


def test_it_stores_a_redelivered_payload_once(client, meta_account):
    payload = fixture(meta_account.kind, "text")

    assert_stored_once(lambda: post_signed(client, meta_account, payload), meta_account)


def test_it_keeps_an_envelope_of_another_object_as_unknown(client, meta_account):
    payload = {"object": "instagram", "entry": [{"id": "1", "time": 1, "messaging": []}]}

    response = post_signed(client, meta_account, payload)

    assert response.status_code == 200
    assert list(InboundEvent.objects.values_list("kind", flat=True)) == ["unknown"]


# --- Graph error classification -------------------------------------------------------------
def test_it_never_marks_a_recipient_gone_on_a_server_error():
    table = {(2, None): Rule(RecipientGone, "blocked")}
    body = {"error": {"code": 2, "message": "An unexpected error has occurred."}}

    assert isinstance(graph_error(400, body, table), RecipientGone)
    assert isinstance(graph_error(500, body, table), Transient)


def test_it_refuses_to_retry_an_unclassified_graph_error():
    error = graph_error(400, {"error": {"code": 987654, "message": "(#987654) new"}}, GRAPH_ERRORS)

    assert isinstance(error, RejectedByPolicy)
    assert error.code == "987654"
    assert "new" in error.reason


@pytest.mark.parametrize(
    ("status", "expected"),
    [(404, ConfigurationError), (502, Transient), (503, Transient)],
)
def test_it_classifies_an_answer_without_a_graph_error_body(status, expected):
    assert isinstance(graph_error(status, {}, GRAPH_ERRORS), expected)


def test_it_prefers_the_subcode_rule_over_the_code_rule():
    body = {"error": {"code": 100, "error_subcode": 33, "message": "Object does not exist"}}

    error = graph_error(400, body, GRAPH_ERRORS)

    assert isinstance(error, ConfigurationError)
    assert error.code == "100/33"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1458668856253, datetime(2016, 3, 22, 17, 47, 36, 253000, tzinfo=UTC)),
        ("1527459824", datetime(2018, 5, 27, 22, 23, 44, tzinfo=UTC)),
        (1767225600, datetime(2026, 1, 1, tzinfo=UTC)),
        (None, None),
        ("soon", None),
    ],
)
def test_it_reads_meta_timestamps_in_seconds_and_milliseconds(value, expected):
    assert meta_time(value) == expected


# --- connect_channel against the fake Graph API ---------------------------------------------
WABA_ID = "777001"
# WhatsApp subscribes on the business account: waba_id is needed to register the webhook.
CONNECT_CREDENTIALS = {**CREDENTIALS, "whatsapp": {**CREDENTIALS["whatsapp"], "waba_id": WABA_ID}}


@pytest.mark.parametrize(
    ("kind", "name", "node"),
    [
        ("messenger", "shop-fb", CREDENTIALS["messenger"]["page_id"]),
        ("whatsapp", "shop-wa", WABA_ID),
    ],
)
def test_it_connects_a_channel_and_prints_its_webhook_url(
    db, fake_platform, kind, name, node, caplog
):
    with caplog.at_level("INFO", logger="channels.providers.meta"):
        lines = connect_channel(
            kind, name, "--api-base", fake_platform.url, credentials=CONNECT_CREDENTIALS[kind]
        )

    assert f"https://comeback.test/hooks/{name}/" in lines
    [call] = fake_platform.requests_for(kind)
    assert call.kind == "subscribed_apps"
    assert call.path == f"/v25.0/{node}/subscribed_apps"
    assert call.answered == 200
    assert "set the callback URL" in caplog.text and f"/hooks/{name}/" in caplog.text


def test_it_fails_to_connect_when_meta_refuses_the_subscription(db, fake_platform):
    fake_platform.error("messenger", {"error": {"code": 190, "message": "Invalid token"}}, 400)

    with pytest.raises(CommandError, match=r"webhook registration failed: .*Invalid token"):
        connect_channel(
            "messenger",
            "shop-fb",
            "--api-base",
            fake_platform.url,
            credentials=CREDENTIALS["messenger"],
        )


def test_it_refuses_to_connect_whatsapp_without_the_business_account_id(db, fake_platform):
    with pytest.raises(CommandError, match=r"whatsapp needs --credential for: waba_id .*webhook"):
        connect_channel(
            "whatsapp",
            "shop-wa",
            "--api-base",
            fake_platform.url,
            credentials=CREDENTIALS["whatsapp"],
        )

    # Nothing is half done: no account, no call to the platform.
    assert not ChannelAccount.objects.filter(name="shop-wa").exists()
    assert fake_platform.requests == []


def test_it_connects_whatsapp_without_the_business_account_id_when_told_no_webhook(
    db, fake_platform
):
    lines = connect_channel(
        "whatsapp", "shop-wa", "--no-webhook", credentials=CREDENTIALS["whatsapp"]
    )

    assert lines == ["https://comeback.test/hooks/shop-wa/"]
    assert ChannelAccount.objects.get(name="shop-wa").credentials == CREDENTIALS["whatsapp"]
    assert fake_platform.requests == []
