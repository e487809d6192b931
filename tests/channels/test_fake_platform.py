"""The fake platform server: real HTTP against a started FakePlatform (no database)."""

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from channels.fake_platform import FakePlatform

ROOT = Path(__file__).resolve().parents[2]
TG = "123:tg-token"


def send(fake: FakePlatform, platform: str, recipient: str = "42", **extra) -> requests.Response:
    """One minimal valid send on `platform`; `extra` overrides body / form fields."""
    url = fake.url
    if platform == "telegram":
        body = {"chat_id": recipient, "text": "hello", **extra}
        return requests.post(f"{url}/bot{TG}/sendMessage", json=body, timeout=5)
    if platform == "messenger":
        body = {"recipient": {"id": recipient}, "message": {"text": "hello"}, **extra}
        return requests.post(
            f"{url}/v25.0/me/messages", params={"access_token": "page-token"}, json=body, timeout=5
        )
    if platform == "whatsapp":
        body = {"messaging_product": "whatsapp", "to": recipient, "text": {"body": "hi"}, **extra}
        return requests.post(
            f"{url}/v25.0/1055/messages",
            headers={"Authorization": "Bearer wa-token"},
            json=body,
            timeout=5,
        )
    if platform == "viber":
        body = {"receiver": recipient, "type": "text", "text": "hi", "sender": {"name": "Shop"}}
        return requests.post(
            f"{url}/pa/send_message",
            headers={"X-Viber-Auth-Token": "viber-token"},
            json={**body, **extra},
            timeout=5,
        )
    form = {"access_token": "vk-token", "v": "5.199", "peer_id": recipient, "random_id": "1"}
    return requests.post(
        f"{url}/method/messages.send", data={**form, "message": "hi", **extra}, timeout=5
    )


def test_it_records_a_telegram_send_message_with_token_and_recipient(fake_platform):
    response = send(fake_platform, "telegram", recipient="777", text="Weekly menu")

    assert response.status_code == 200
    result = response.json()["result"]
    assert result["chat"] == {"id": 777, "type": "private"}
    assert result["text"] == "Weekly menu"
    [record] = fake_platform.requests_for("telegram")
    assert (record.token, record.recipient, record.kind) == (TG, "777", "sendMessage")
    assert record.json == {"chat_id": "777", "text": "Weekly menu"}
    assert record.answered == 200
    assert record.headers["content-type"] == "application/json"
    assert fake_platform.requests_for("vk") == []


def test_it_numbers_telegram_messages_per_chat(fake_platform):
    ids = [send(fake_platform, "telegram", recipient=chat).json() for chat in ("1", "1", "2")]

    assert [body["result"]["message_id"] for body in ids] == [1, 2, 1]


def test_it_answers_429_with_retry_after_past_a_per_token_rate_limit(fake_platform):
    fake_platform.set_rate_limit(TG, 30)

    started = time.monotonic()
    answers = [send(fake_platform, "telegram") for _ in range(31)]
    assert time.monotonic() - started < 1, "too slow to put 31 requests in one window"

    assert [r.status_code for r in answers[:30]] == [200] * 30
    refused = answers[30].json()
    assert answers[30].status_code == 429
    assert refused["error_code"] == 429
    assert refused["parameters"]["retry_after"] >= 1
    retry_after = refused["parameters"]["retry_after"]
    assert refused["description"] == f"Too Many Requests: retry after {retry_after}"
    assert fake_platform.requests[-1].answered == 429
    assert fake_platform.stats()["by_status"] == {"200": 30, "429": 1}


def test_it_admits_again_once_the_window_has_moved_on(fake_platform):
    fake_platform.set_rate_limit(TG, 1)
    assert send(fake_platform, "telegram").status_code == 200
    retry_after = send(fake_platform, "telegram").json()["parameters"]["retry_after"]

    time.sleep(retry_after)

    assert send(fake_platform, "telegram").status_code == 200


def test_it_records_viber_flood_answers_as_429_though_http_says_200(fake_platform):
    fake_platform.set_rate_limit("viber-token", 1)

    send(fake_platform, "viber")
    response = send(fake_platform, "viber")

    assert response.status_code == 200
    assert response.json() == {"status": 12, "status_message": "tooManyRequests"}
    assert [r.answered for r in fake_platform.requests] == [200, 429]


# platform -> (HTTP status, the part of the body that says "blocked")
BLOCKED = {
    "telegram": (403, lambda b: b["description"]),
    "messenger": (400, lambda b: (b["error"]["code"], b["error"]["error_subcode"])),
    "whatsapp": (400, lambda b: b["error"]["code"]),
    "viber": (200, lambda b: (b["status"], b["status_message"])),
    "vk": (200, lambda b: b["error"]["error_code"]),
}
BLOCKED_SAYS = {
    "telegram": "Forbidden: bot was blocked by the user",
    "messenger": (551, 1545041),
    "whatsapp": 131026,
    "viber": (6, "notSubscribed"),
    "vk": 901,
}


@pytest.mark.parametrize("platform", sorted(BLOCKED))
def test_it_answers_blocked_recipients_in_each_platforms_shape(fake_platform, platform):
    fake_platform.block("555", platform=platform)

    response = send(fake_platform, platform, recipient="555")
    others = send(fake_platform, platform, recipient="556")

    status, says = BLOCKED[platform]
    assert response.status_code == status
    assert says(response.json()) == BLOCKED_SAYS[platform]
    assert others.status_code == 200
    assert "error" not in others.json() and others.json().get("status", 0) == 0


def test_it_fails_the_next_two_sends_then_succeeds(fake_platform):
    fake_platform.fail(status=502, count=2)

    statuses = [send(fake_platform, "whatsapp").status_code for _ in range(3)]

    assert statuses == [502, 502, 200]
    assert fake_platform.requests[0].answered == 502
    assert fake_platform.stats()["by_status"] == {"200": 1, "502": 2}


def test_it_cuts_the_connection_of_a_dropped_call_after_handling_it(fake_platform):
    # given every call dropped: handled and recorded, then the connection cut unanswered
    fake_platform.drop(1.0)

    with pytest.raises(requests.ConnectionError):
        send(fake_platform, "telegram")
    fake_platform.drop(0.0)
    after = send(fake_platform, "telegram")

    # then the platform did send the first message (the next one in the chat is the second)
    [dropped, answered] = fake_platform.requests
    assert (dropped.dropped, dropped.answered) == (True, 200)
    assert answered.dropped is False
    assert after.json()["result"]["message_id"] == 2


def test_it_drops_about_the_configured_share_of_calls(fake_platform):
    fake_platform.configure({"drop": {"fraction": 0.25, "seed": 7}})

    for _ in range(200):
        try:
            send(fake_platform, "vk", random_id="0")
        except requests.ConnectionError:
            pass

    dropped = sum(r.dropped for r in fake_platform.requests)
    assert 30 <= dropped <= 70  # 50 expected; the seed makes it the same every run


def test_it_answers_an_injected_error_body_exactly_once(fake_platform):
    flood = {"error": {"error_code": 9, "error_msg": "Flood control"}}
    fake_platform.error("vk", flood, 200)

    first = send(fake_platform, "vk")
    second = send(fake_platform, "vk", random_id="2")

    assert first.json() == flood
    assert second.json() == {"response": 1}  # the injected answer sent no message


def test_it_delays_a_slow_answer_without_holding_up_other_requests(fake_platform):
    fake_platform.slow(0.5, count=1)
    slow_elapsed: list[float] = []

    def slow_send() -> None:
        started = time.monotonic()
        send(fake_platform, "telegram")
        slow_elapsed.append(time.monotonic() - started)

    thread = threading.Thread(target=slow_send)
    thread.start()
    while not fake_platform.requests:  # recorded as soon as decided, before the delay
        time.sleep(0.01)
    started = time.monotonic()
    fast = send(fake_platform, "telegram")
    fast_elapsed = time.monotonic() - started
    thread.join()

    assert fast.status_code == 200
    assert fast_elapsed < 0.3
    assert slow_elapsed[0] >= 0.5


def test_it_returns_the_first_message_id_for_a_repeated_vk_random_id(fake_platform):
    first = send(fake_platform, "vk", random_id="9001").json()
    retry = send(fake_platform, "vk", random_id="9001").json()
    other = send(fake_platform, "vk", random_id="9002").json()

    assert retry == first
    assert other["response"] != first["response"]
    assert [r.deduplicated for r in fake_platform.requests_for("vk")] == [False, True, False]


# 33 Cyrillic letters are 66 bytes: over Telegram's 64-byte callback_data limit.
LONG_CALLBACK = {"inline_keyboard": [[{"text": "a", "callback_data": "ю" * 33}]]}


@pytest.mark.parametrize(
    ("platform", "extra", "status", "code"),
    [
        ("telegram", {"text": "x" * 4097}, 400, 400),
        ("telegram", {"reply_markup": LONG_CALLBACK}, 400, 400),
        ("messenger", {"message": {"text": "x", "quick_replies": [{}] * 14}}, 400, 100),
        ("whatsapp", {"text": {"body": "x" * 4097}}, 400, 100),
        ("viber", {"text": "x" * 7001}, 200, 3),
        ("vk", {"message": "x" * 9001}, 200, 914),
        ("vk", {"keyboard": "{not json"}, 200, 911),
    ],
)
def test_it_refuses_what_the_platform_refuses(fake_platform, platform, extra, status, code):
    response = send(fake_platform, platform, **extra)

    body = response.json()
    error = body.get("error", {})
    found = (
        body.get("error_code") or body.get("status") or error.get("code") or error.get("error_code")
    )
    assert (response.status_code, found) == (status, code)
    assert fake_platform.requests[0].answered == status


def test_it_refuses_more_than_three_whatsapp_reply_buttons(fake_platform):
    buttons = [{"type": "reply", "reply": {"id": str(i), "title": "ok"}} for i in range(4)]
    interactive = {"type": "button", "body": {"text": "?"}, "action": {"buttons": buttons}}

    response = send(fake_platform, "whatsapp", type="interactive", interactive=interactive)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == 131009


@pytest.mark.parametrize(
    ("replies", "details"),
    [
        (
            [{"id": "1", "title": "Same"}, {"id": "2", "title": "Same"}],
            "Button title is not unique",
        ),
        ([{"id": "1", "title": "One"}, {"id": "1", "title": "Two"}], "Button id is not unique"),
        ([{"id": "", "title": "One"}], "Button id length invalid. Min length: 1, Max: 256"),
    ],
)
def test_it_refuses_whatsapp_reply_buttons_alike_or_without_an_id(fake_platform, replies, details):
    buttons = [{"type": "reply", "reply": reply} for reply in replies]
    interactive = {"type": "button", "body": {"text": "?"}, "action": {"buttons": buttons}}

    response = send(fake_platform, "whatsapp", type="interactive", interactive=interactive)

    assert response.status_code == 400
    assert response.json()["error"]["error_data"]["details"] == details


@pytest.mark.parametrize(
    ("payload", "param"),
    [
        ({"template_type": "generic", "elements": [{"title": " "}]}, "[elements][title]"),
        (
            {
                "template_type": "button",
                "text": "?",
                "buttons": [{"type": "postback", "title": "a"}],
            },
            "[buttons][payload]",
        ),
    ],
)
def test_it_refuses_messenger_templates_missing_a_title_or_payload(fake_platform, payload, param):
    message = {"attachment": {"type": "template", "payload": payload}}

    response = send(fake_platform, "messenger", message=message)

    assert response.status_code == 400
    assert param in response.json()["error"]["message"]


@pytest.mark.parametrize(("padding", "status"), [(29_800, 0), (30_000, 3)])
def test_it_refuses_a_viber_request_over_30_kb(fake_platform, padding, status):
    response = send(fake_platform, "viber", tracking_data="t" * padding)

    assert len(fake_platform.requests[0].body) > 30_000 or status == 0
    assert (response.status_code, response.json()["status"]) == (200, status)


@pytest.mark.parametrize("platform", ["telegram", "messenger", "whatsapp", "viber", "vk"])
def test_it_refuses_tokens_starting_with_bad(fake_platform, platform):
    url = fake_platform.url
    if platform == "telegram":
        response = requests.post(f"{url}/botbad-token/getMe", timeout=5)
        assert (response.status_code, response.json()["error_code"]) == (401, 401)
    elif platform in ("messenger", "whatsapp"):
        body = {"messaging_product": "whatsapp"} if platform == "whatsapp" else {}
        response = requests.post(
            f"{url}/v25.0/1/messages", params={"access_token": "bad"}, json=body, timeout=5
        )
        assert (response.status_code, response.json()["error"]["code"]) == (401, 190)
    elif platform == "viber":
        headers = {"X-Viber-Auth-Token": "bad"}
        response = requests.post(f"{url}/pa/send_message", headers=headers, json={}, timeout=5)
        assert response.json()["status"] == 2
    else:
        response = requests.post(
            f"{url}/method/messages.send", data={"access_token": "bad1", "v": "5.199"}, timeout=5
        )
        assert response.json()["error"]["error_code"] == 5
    assert fake_platform.requests[0].platform == platform


def test_it_gives_viber_message_tokens_beyond_float_precision(fake_platform):
    token = send(fake_platform, "viber").json()["message_token"]

    assert token > 2**53


def test_it_is_driven_over_http_by_the_control_routes(fake_platform):
    base = f"{fake_platform.url}/_fake"
    config = {"block": ["blocked-psid"], "rate_limit": {"vk-token": 5}}
    assert requests.post(f"{base}/config", json=config, timeout=5).status_code == 200
    before = time.time()

    blocked = send(fake_platform, "messenger", recipient="blocked-psid")
    send(fake_platform, "vk")
    listing = requests.get(f"{base}/requests", params={"platform": "messenger"}, timeout=5).json()
    stats = requests.get(f"{base}/stats", timeout=5).json()

    assert blocked.json()["error"]["code"] == 551
    assert [r["recipient"] for r in listing] == ["blocked-psid"]
    assert json.loads(listing[0]["body"])["recipient"] == {"id": "blocked-psid"}
    assert listing[0]["received_at"] >= before
    assert stats["by_platform"] == {"messenger": 1, "vk": 1}
    assert requests.get(f"{base}/config", timeout=5).json()["rate_limit"] == {"vk-token": 5}

    requests.delete(f"{base}/requests", timeout=5)
    assert requests.get(f"{base}/requests", timeout=5).json() == []
    requests.post(f"{base}/reset", timeout=5)
    assert send(fake_platform, "messenger", recipient="blocked-psid").status_code == 200


def test_it_rejects_an_invalid_config_without_applying_any_of_it(fake_platform):
    config = {"block": ["x"], "fail": {"status": 200}}

    response = requests.post(f"{fake_platform.url}/_fake/config", json=config, timeout=5)

    assert response.status_code == 400
    assert send(fake_platform, "telegram", recipient="x").status_code == 200


def test_it_answers_404_to_unknown_routes_without_recording(fake_platform):
    assert requests.post(f"{fake_platform.url}/nowhere", timeout=5).status_code == 404
    assert fake_platform.requests == []


def test_it_keeps_connections_alive_unless_told_to_close(fake_platform):
    def request(extra_header: str = "") -> bytes:
        return f"GET /_fake/health HTTP/1.1\r\nHost: x\r\n{extra_header}\r\n".encode()

    with socket.create_connection(("127.0.0.1", fake_platform.port), timeout=5) as sock:
        sock.sendall(request("") + request("Connection: close\r\n"))
        received = b""
        while chunk := sock.recv(65536):  # ends only if the server closes after the second
            received += chunk

    assert received.count(b"HTTP/1.1 200 OK") == 2
    assert b"Connection: keep-alive" in received and b"Connection: close" in received


def test_it_runs_standalone_until_sigterm():
    proc = subprocess.Popen(
        [sys.executable, "-m", "channels.fake_platform", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("fake platform listening on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1]
        assert not url.endswith(":0")
        reply = requests.post(f"{url}/bot{TG}/getMe", timeout=5)
        assert reply.json()["result"]["username"] == "fake_bot"

        proc.send_signal(signal.SIGTERM)

        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        proc.wait()


def test_it_refuses_a_non_loopback_host():
    everywhere = "0.0.0.0"  # noqa: S104 - the mistake this guards against
    result = subprocess.run(
        [sys.executable, "-m", "channels.fake_platform", "--port", "0", "--host", everywhere],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert result.returncode == 2
    assert "non-loopback" in result.stderr
    with pytest.raises(ValueError, match="non-loopback"):
        FakePlatform(host="10.1.2.3")
