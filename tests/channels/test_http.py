import socketserver
import threading

import pytest
import requests

from channels.errors import ConfigurationError, RejectedByPolicy, Transient
from channels.http import PlatformSession


def test_it_skips_environment_lookups_when_no_proxy_is_configured(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)

    assert PlatformSession()._session.trust_env is False


def test_it_honours_a_configured_proxy(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")

    assert PlatformSession()._session.trust_env is True


def test_it_reports_a_refused_connection_as_not_sent():
    # Port 1 on loopback: nothing listens, the request never left.
    with pytest.raises(Transient) as caught:
        PlatformSession().post("http://127.0.0.1:1/x", json_body={})

    assert caught.value.maybe_sent is False


def test_it_reports_a_read_timeout_as_maybe_sent(fake_platform):
    fake_platform.slow(1.0)

    with pytest.raises(Transient) as caught:
        PlatformSession().post(f"{fake_platform.url}/botX/getMe", json_body={}, timeout=0.2)

    assert caught.value.maybe_sent is True
    assert isinstance(caught.value.__cause__, requests.ReadTimeout)


# --- every other requests failure is classified too -------------------------------------------
class RawServer(socketserver.ThreadingTCPServer):
    """A loopback server that answers every request with `raw` bytes, whatever was asked."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        super().__init__(("127.0.0.1", 0), RawHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class RawHandler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        while self.rfile.readline():  # a request line; keep-alive brings the next one here
            length = 0
            while (line := self.rfile.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            self.rfile.read(length)
            self.wfile.write(self.server.raw)


@pytest.fixture
def answering():
    """Start a RawServer answering the given bytes; stopped after the test."""
    servers = []

    def start(raw: bytes) -> RawServer:
        server = RawServer(raw)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("raw", "cause"),
    [
        # A chunk size that is not hex: the body broke off mid-answer.
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            requests.exceptions.ChunkedEncodingError,
        ),
        # Declared gzip, is not: the answer cannot be read.
        (
            b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 9\r\n\r\nnot gzip!",
            requests.exceptions.ContentDecodingError,
        ),
    ],
)
def test_it_reports_a_broken_answer_as_maybe_sent(answering, raw, cause):
    # Given a platform that got the request but answers something unreadable
    server = answering(raw)

    # When a send is posted to it
    with pytest.raises(Transient) as caught:
        PlatformSession().post(f"{server.url}/x", json_body={"text": "hi"})

    # Then it may have been acted on: never silently re-sent
    assert caught.value.maybe_sent is True
    assert isinstance(caught.value.__cause__, cause)


def test_it_reports_a_redirect_loop_as_configuration(answering):
    server = answering(
        b"HTTP/1.1 307 Temporary Redirect\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n"
    )

    with pytest.raises(ConfigurationError, match="redirect loop") as caught:
        PlatformSession().post(f"{server.url}/x", json_body={})

    assert isinstance(caught.value.__cause__, requests.TooManyRedirects)


@pytest.mark.parametrize(
    ("url", "headers", "cause"),
    [
        ("http://[::1/bot1:x/sendMessage", {}, requests.exceptions.InvalidURL),
        ("http:///x", {}, requests.exceptions.InvalidURL),
        ("127.0.0.1:8081/pa/send_message", {}, requests.exceptions.InvalidSchema),
        ("/pa/send_message", {}, requests.exceptions.MissingSchema),
        (
            "http://127.0.0.1:1/x",
            {"Authorization": "Bearer a\nb"},
            requests.exceptions.InvalidHeader,
        ),
    ],
)
def test_it_reports_a_request_that_cannot_be_made_as_configuration(url, headers, cause):
    with pytest.raises(ConfigurationError, match="request cannot be made") as caught:
        PlatformSession().post(url, json_body={}, headers=headers)

    assert isinstance(caught.value.__cause__, cause)


def test_it_reports_a_token_that_cannot_go_in_a_header_as_configuration(fake_platform):
    # A token pasted with non-Latin-1 characters: http.client cannot encode the header.
    with pytest.raises(ConfigurationError, match="UnicodeEncodeError"):
        PlatformSession().post(
            f"{fake_platform.url}/pa/send_message",
            json_body={},
            headers={"X-Viber-Auth-Token": "токен"},
        )

    assert fake_platform.requests == []


def test_it_rejects_a_message_that_cannot_be_json_without_blaming_the_account():
    with pytest.raises(RejectedByPolicy, match="not JSON-encodable"):
        PlatformSession().post("http://127.0.0.1:1/x", json_body={"score": float("nan")})


def test_it_reports_any_other_requests_failure_as_maybe_sent(monkeypatch):
    # The one mocked boundary: a failure requests may raise that no test server provokes.
    session = PlatformSession()

    def fail(*args, **kwargs):
        raise requests.exceptions.RetryError("too many 503 error responses")

    monkeypatch.setattr(session._session, "post", fail)

    with pytest.raises(Transient) as caught:
        session.post("http://127.0.0.1:1/x", json_body={})

    assert caught.value.maybe_sent is True
    assert "RetryError" in caught.value.reason


def test_it_keeps_tokens_in_the_url_out_of_the_reason():
    url = "http://127.0.0.1:1/bot123456:SECRET-token/sendMessage"

    with pytest.raises(Transient) as caught:
        PlatformSession().post(url, json_body={}, params={"access_token": "EAAG-secret"})

    assert "SECRET" not in caught.value.reason
    assert "EAAG" not in caught.value.reason
    assert "Connection refused" in caught.value.reason
