"""Contract tests every Meta (Graph API) channel passes: handshake, signature, envelope, errors."""

import json
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from channels.errors import ConfigurationError, RecipientGone, RejectedByPolicy, Transient
from channels.models import InboundEvent
from channels.providers.meta import GRAPH_ERRORS, Rule, graph_error, meta_time
from tests.channels.webhooks import fixture, hmac_hex, post_json
from tests.factories import CREDENTIALS, ChannelAccountFactory


def post_signed(client, account, payload, secret: str | None = None):
    """POST `payload` the way Meta does: raw JSON bytes signed with the app secret."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signature = hmac_hex(secret or account.credentials["app_secret"], body)
    return post_json(client, account, body, **{"X-Hub-Signature-256": f"sha256={signature}"})


@pytest.fixture(params=["messenger", "whatsapp"])
def meta_account(request, db, settings):
    settings.INBOUND_EVENT_HANDLERS = []  # the channel layer alone
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

    assert response.status_code == 403
    assert InboundEvent.objects.count() == 0


@pytest.mark.parametrize("header", [None, "", "sha1=abc", "sha256=", "deadbeef"])
def test_it_rejects_a_missing_or_malformed_signature(client, meta_account, header):
    headers = {} if header is None else {"X-Hub-Signature-256": header}

    response = post_json(client, meta_account, fixture(meta_account.kind, "text"), **headers)

    assert response.status_code == 403
    assert InboundEvent.objects.count() == 0


def test_it_rejects_a_signature_of_a_different_body(client, meta_account):
    signed = json.dumps(fixture(meta_account.kind, "text")).encode()
    signature = hmac_hex(meta_account.credentials["app_secret"], signed)

    tampered = signed.replace(b"Sundays", b"Mondays")
    response = post_json(
        client, meta_account, tampered, **{"X-Hub-Signature-256": f"sha256={signature}"}
    )

    assert response.status_code == 403
    assert InboundEvent.objects.count() == 0


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

    assert response.status_code == 400
    assert InboundEvent.objects.count() == 0


def test_it_stores_a_redelivered_payload_once(client, meta_account):
    payload = fixture(meta_account.kind, "text")

    first = post_signed(client, meta_account, payload)
    second = post_signed(client, meta_account, payload)

    assert (first.status_code, second.status_code) == (200, 200)
    assert InboundEvent.objects.filter(account=meta_account).count() == 1


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
@pytest.mark.parametrize(("kind", "name"), [("messenger", "shop-fb"), ("whatsapp", "shop-wa")])
def test_it_connects_a_channel_and_prints_its_webhook_url(db, fake_platform, kind, name, caplog):
    out = StringIO()
    credentials = [f"--credential={key}={value}" for key, value in CREDENTIALS[kind].items()]

    with caplog.at_level("INFO", logger="channels.providers.meta"):
        call_command(
            "connect_channel", kind, name, *credentials, "--api-base", fake_platform.url,
            stdout=out, stderr=StringIO(),
        )  # fmt: skip

    assert f"https://comeback.test/hooks/{name}/" in out.getvalue().splitlines()
    [call] = fake_platform.requests_for(kind)
    assert call.kind == "subscribed_apps"
    assert call.path.startswith("/v25.0/")
    assert "set the callback URL" in caplog.text and f"/hooks/{name}/" in caplog.text


def test_it_fails_to_connect_when_meta_refuses_the_subscription(db, fake_platform):
    fake_platform.error("messenger", {"error": {"code": 190, "message": "Invalid token"}}, 400)
    credentials = [f"--credential={k}={v}" for k, v in CREDENTIALS["messenger"].items()]

    with pytest.raises(CommandError, match=r"webhook registration failed: .*Invalid token"):
        call_command(
            "connect_channel", "messenger", "shop-fb", *credentials,
            "--api-base", fake_platform.url, stdout=StringIO(), stderr=StringIO(),
        )  # fmt: skip


def test_it_subscribes_the_whatsapp_business_account_when_its_id_is_given(db, fake_platform):
    credentials = [f"--credential={k}={v}" for k, v in CREDENTIALS["whatsapp"].items()]

    call_command(
        "connect_channel", "whatsapp", "shop-wa", *credentials, "--credential=waba_id=777001",
        "--api-base", fake_platform.url, stdout=StringIO(), stderr=StringIO(),
    )  # fmt: skip

    [call] = fake_platform.requests_for("whatsapp")
    assert call.path == "/v25.0/777001/subscribed_apps"
