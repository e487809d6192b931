import json
import socket
import socketserver
import ssl
import subprocess
import threading
from pathlib import Path

import pytest

from channels.errors import ConfigurationError, RejectedByPolicy, Transient
from channels.http import PlatformSession
from tests.channels.loop_driven import LoopDriven


@pytest.fixture(autouse=True, params=["one thread", "curl loop"])
def session_kind(request, monkeypatch):
    """Every test here twice: PlatformSession as a sending thread uses it, and LoopSession on
    the CurlLoop the dispatcher sends through (the tests make sessions by this module's name)."""
    if request.param == "one thread":
        yield
        return
    made: list[LoopDriven] = []

    def on_a_loop() -> LoopDriven:
        made.append(LoopDriven())
        return made[-1]

    monkeypatch.setitem(globals(), "PlatformSession", on_a_loop)
    yield
    for driven in made:
        driven.close()


def test_it_posts_json_and_reads_the_answer(fake_platform):
    answer = PlatformSession().post(
        f"{fake_platform.url}/bot1:abc/sendMessage", json_body={"chat_id": 7, "text": "привет"}
    )

    assert answer.status_code == 200
    assert answer.json()["ok"] is True
    sent = fake_platform.requests[-1]
    assert (sent.path, sent.json) == ("/bot1:abc/sendMessage", {"chat_id": 7, "text": "привет"})


def test_it_posts_a_form_with_the_query_params(fake_platform):
    PlatformSession().post(
        f"{fake_platform.url}/method/messages.send",
        form={"peer_id": 7, "message": "a&b=c", "random_id": 1, "v": "5.199"},
        params={"access_token": "vk-token"},
    )

    sent = fake_platform.requests[-1]
    assert sent.form["message"] == "a&b=c"
    assert sent.token == "vk-token"


@pytest.mark.parametrize(
    ("raw", "connections"),
    [
        # HTTP/1.1 keeps the connection for the next request.
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", 1),
        # "Connection: close": the server hangs up after each request, so each reconnects.
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}", 3),
        # HTTP/1.0 closes unless it says otherwise: not reused either.
        (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}", 3),
    ],
)
def test_it_reuses_a_connection_only_while_the_platform_keeps_it(answering, raw, connections):
    server = answering(raw)
    session = PlatformSession()

    for _ in range(3):
        assert session.post(f"{server.url}/x", json_body={}).status_code == 200

    assert server.connections == connections


def test_it_goes_through_a_configured_http_proxy(answering, monkeypatch):
    proxy = answering(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
    monkeypatch.setenv("http_proxy", f"http://user:pa%40ss@127.0.0.1:{proxy.port}")
    monkeypatch.setenv("no_proxy", "")

    PlatformSession().post("http://api.platform.test/bot1:x/sendMessage", json_body={})

    # The proxy got the absolute URI and the credentials, decoded ("pa@ss").
    assert proxy.request_lines == [b"POST http://api.platform.test/bot1:x/sendMessage HTTP/1.1"]
    assert b"Proxy-Authorization: Basic dXNlcjpwYUBzcw==" in proxy.headers[0]


def test_it_tunnels_https_through_a_configured_proxy(answering, monkeypatch):
    # The proxy refuses the tunnel: nothing can have reached the platform.
    proxy = answering(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
    monkeypatch.setenv("https_proxy", f"http://127.0.0.1:{proxy.port}")
    monkeypatch.setenv("no_proxy", "")

    with pytest.raises(Transient) as caught:
        PlatformSession().post("https://graph.platform.test/v25.0/me/messages", json_body={})

    assert proxy.request_lines == [b"CONNECT graph.platform.test:443 HTTP/1.1"]
    assert caught.value.maybe_sent is False


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
    assert caught.value.reason.startswith("timed out after 0.2s")


# --- every other failure is classified too ------------------------------------------------------
class RawServer(socketserver.ThreadingTCPServer):
    """A loopback server that answers every request with `raw` bytes, whatever was asked.

    It counts connections and keeps each request line and header block it read.
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.connections = 0
        self.request_lines: list[bytes] = []
        self.headers: list[bytes] = []
        super().__init__(("127.0.0.1", 0), RawHandler)

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class RawHandler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        self.server.connections += 1
        while line := self.rfile.readline():  # keep-alive brings the next request here
            self.server.request_lines.append(line.rstrip())
            length, headers = 0, b""
            while (line := self.rfile.readline()) not in (b"\r\n", b""):
                headers += line
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            self.server.headers.append(headers)
            self.rfile.read(length)
            self.wfile.write(self.server.raw)
            if b"connection: close" in self.server.raw.lower():
                return


@pytest.fixture
def serving():
    """Start a socketserver on its own thread (TLS with `tls`); stopped after the test."""
    servers = []

    def start(server, tls: ssl.SSLContext | None = None):
        if tls is not None:
            server.socket = tls.wrap_socket(server.socket, server_side=True)
        # shutdown() waits for serve_forever's next poll: 0.5 s a test at its default.
        threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def answering(serving):
    """Start a RawServer answering the given bytes."""
    return lambda raw: serving(RawServer(raw))


@pytest.mark.parametrize(
    ("raw", "cause"),
    [
        # A chunk size that is not hex: the body broke off mid-answer.
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "curl 56"),
        # Shorter than it said it would be, then the connection closed.
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 90\r\nConnection: close\r\n\r\n{}",
            "curl 18",
        ),
        # Not HTTP at all.
        (b"SSH-2.0-OpenSSH_9.2\r\n", "curl 1"),
        # A length that is no number: where the body ends is unknown.
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2x\r\n\r\n{}", "curl 8"),
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
    assert f"broken answer: {cause}:" in caught.value.reason


def test_it_reports_a_redirect_as_configuration_without_following_it(answering):
    server = answering(
        b"HTTP/1.1 307 Temporary Redirect\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n"
    )

    with pytest.raises(ConfigurationError, match="redirect"):
        PlatformSession().post(f"{server.url}/x", json_body={})

    assert len(server.request_lines) == 1


def test_it_hands_an_answer_that_is_not_json_to_the_provider_as_is(answering):
    # Declared gzip (we never ask for it), is not: the provider sees bytes it cannot read.
    server = answering(
        b"HTTP/1.1 502 Bad Gateway\r\nContent-Encoding: gzip\r\nContent-Length: 9\r\n\r\nnot gzip!"
    )

    answer = PlatformSession().post(f"{server.url}/x", json_body={})

    assert (answer.status_code, answer.content) == (502, b"not gzip!")
    with pytest.raises(json.JSONDecodeError):
        answer.json()


@pytest.mark.parametrize(
    ("url", "headers"),
    [
        ("http://[::1/bot1:x/sendMessage", {}),
        ("http:///x", {}),
        ("http://127.0.0.1:port/x", {}),
        ("127.0.0.1:8081/pa/send_message", {}),
        ("/pa/send_message", {}),
        ("ftp://127.0.0.1/x", {}),
        ("http://127.0.0.1:{port}/bot1:a token with spaces/sendMessage", {}),
        ("http://127.0.0.1:{port}/x", {"Authorization": "Bearer a\nb"}),
    ],
)
def test_it_reports_a_request_that_cannot_be_made_as_configuration(answering, url, headers):
    server = answering(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")

    with pytest.raises(ConfigurationError, match="request cannot be made"):
        PlatformSession().post(url.format(port=server.port), json_body={}, headers=headers)

    assert server.request_lines == []


def test_it_reports_a_token_that_cannot_go_in_a_header_as_configuration(fake_platform):
    # A token pasted with non-Latin-1 characters: it cannot go in a header.
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


def test_it_keeps_tokens_in_the_url_out_of_the_reason():
    url = "http://127.0.0.1:1/bot123456:SECRET-token/sendMessage"

    with pytest.raises(Transient) as caught:
        PlatformSession().post(url, json_body={}, params={"access_token": "EAAG-secret"})

    assert "SECRET" not in caught.value.reason
    assert "EAAG" not in caught.value.reason
    assert "connection failed: curl 7: Failed to connect to 127.0.0.1:1" in caught.value.reason


# --- framing: what a platform (or a proxy in front of it) may answer -----------------------------
@pytest.mark.parametrize(
    ("raw", "content"),
    [
        # Chunked, with an extension and a trailer.
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b'5;x=y\r\n{"ok"\r\n6\r\n:true}\r\n0\r\nX-Trailer: 1\r\n\r\n',
            b'{"ok":true}',
        ),
        # An interim answer first.
        (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", b"{}"),
        # No length: the body runs until the server hangs up.
        (b'HTTP/1.0 200 OK\r\nConnection: close\r\n\r\n{"a": 1}', b'{"a": 1}'),
        # Header names in any case, no space after the colon.
        (b"HTTP/1.1 200 OK\r\ncontent-LENGTH:2\r\n\r\n[]", b"[]"),
    ],
)
def test_it_reads_every_framing_of_an_answer(answering, raw, content):
    server = answering(raw)

    answer = PlatformSession().post(f"{server.url}/x", json_body={})

    assert (answer.status_code, answer.content) == (200, content)


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n" + b"x" * 50,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n32\r\n"
        + b"x" * 50
        + b"\r\n0\r\n\r\n",
    ],
)
def test_it_cuts_an_answer_too_big_to_be_a_platforms(answering, monkeypatch, raw):
    monkeypatch.setattr("channels.http.MAX_ANSWER_BYTES", 10)
    server = answering(raw)
    session = PlatformSession()

    answer = session.post(f"{server.url}/x", json_body={})
    session.post(f"{server.url}/x", json_body={})

    assert answer.content == b"x" * 10
    assert server.connections == 2  # the rest was never read: the connection is not reused


def test_it_sends_one_well_formed_request(answering):
    server = answering(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")

    PlatformSession().post(f"{server.url}/bot1:x/sendMessage", json_body={"text": "é"})

    assert server.request_lines == [b"POST /bot1:x/sendMessage HTTP/1.1"]
    headers = server.headers[0].decode()
    assert f"Host: 127.0.0.1:{server.port}\r\n" in headers
    assert "Content-Type: application/json\r\n" in headers
    assert "Content-Length: 17\r\n" in headers  # {"text":"\\u00e9"}


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, made once for the module."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def tls_answering(serving, certificate):
    """Like `answering`, over TLS with that certificate; yields (start, the certificate)."""
    cert, key = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return (lambda raw: serving(RawServer(raw), tls=context)), cert


def test_it_reports_a_certificate_that_does_not_verify_as_configuration(tls_answering):
    # A TLS server whose certificate no CA signed: not the platform it claims to be.
    start, _ = tls_answering
    server = start(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")

    with pytest.raises(ConfigurationError, match="certificate does not verify: curl 60"):
        PlatformSession().post(f"https://127.0.0.1:{server.port}/x", json_body={})

    assert server.request_lines == []


def test_it_talks_https_with_a_platform_it_trusts(tls_answering, monkeypatch):
    # The certificate trusted as a CA would be: requests and answers go inside TLS.
    start, cert = tls_answering
    monkeypatch.setattr("channels.http.CA_BUNDLE", str(cert))
    server = start(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n")
    session = PlatformSession()

    answers = [
        session.post(f"https://127.0.0.1:{server.port}/bot1:x/send", json_body={}) for _ in range(2)
    ]

    assert [(a.status_code, a.content) for a in answers] == [(200, b"{}")] * 2
    assert server.request_lines == [b"POST /bot1:x/send HTTP/1.1"] * 2
    assert server.connections == 1  # kept alive


def test_it_tunnels_https_through_a_proxy_that_allows_it(tls_answering, serving, monkeypatch):
    # A proxy that answers CONNECT with 200 and then relays bytes both ways to the platform.
    start, cert = tls_answering
    monkeypatch.setattr("channels.http.CA_BUNDLE", str(cert))
    platform = start(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
    asked: list[bytes] = []

    class Tunnel(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            asked.append(self.rfile.readline().rstrip())
            while self.rfile.readline() not in (b"\r\n", b""):
                pass
            upstream = socket.create_connection(("127.0.0.1", platform.port))
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            relay = threading.Thread(target=_pipe, args=(upstream, self.connection), daemon=True)
            relay.start()
            _pipe(self.connection, upstream)

    proxy = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Tunnel)
    proxy.daemon_threads = True
    serving(proxy)
    monkeypatch.setenv("https_proxy", f"http://127.0.0.1:{proxy.server_address[1]}")
    monkeypatch.setenv("no_proxy", "")

    # 127.0.0.1 is in the certificate, so the name to verify is the platform's own
    answer = PlatformSession().post(f"https://127.0.0.1:{platform.port}/x", json_body={})

    assert (answer.status_code, answer.content) == (200, b"{}")
    assert asked == [f"CONNECT 127.0.0.1:{platform.port} HTTP/1.1".encode()]
    assert platform.request_lines == [b"POST /x HTTP/1.1"]


def _pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass


def test_the_write_hook_runs_once_just_before_the_first_request_is_written(fake_platform):
    """The dispatcher's send journal notes a row here (campaigns/dispatch/journal.py)."""
    session, calls = PlatformSession(), []
    session.before_next_write(lambda: calls.append(len(fake_platform.requests)))

    for _ in range(2):  # a send of two requests (an image, then its text)
        session.post(f"{fake_platform.url}/bot1:abc/sendMessage", json_body={"chat_id": 7})

    assert calls == [0]  # once, before the platform had the first request


def test_the_write_hook_does_not_run_when_no_connection_could_be_made():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    session, calls = PlatformSession(), []
    session.before_next_write(lambda: calls.append(1))

    with pytest.raises(Transient):
        session.post(f"http://127.0.0.1:{port}/bot1:abc/sendMessage", json_body={})

    assert calls == []
