"""A minimal HTTP/1.1 server on asyncio: request line, headers, Content-Length bodies, keep-alive.

http.server costs a thread per connection and re-parses headers with the email package; the
benchmark pushes thousands of keep-alive requests a second through this on two cores, so an
asyncio.Protocol parses the bytes itself and answers synchronously unless a delay is asked for.
"""

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, unquote

from .bodies import parse_body

MAX_HEAD = 64 * 1024
MAX_BODY = 32 * 1024 * 1024  # Telegram's photo uploads go up to 10 MB; leave headroom.
_REASONS = {status.value: status.phrase for status in HTTPStatus}


class HttpRequest:
    """One parsed request; the body is decoded (JSON / form) only when somebody asks."""

    __slots__ = ("_decoded", "body", "headers", "keep_alive", "method", "path", "query")

    def __init__(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> None:
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.keep_alive = True
        self._decoded: tuple[Any, dict[str, str] | None] | None = None

    def _decode(self) -> tuple[Any, dict[str, str] | None]:
        if self._decoded is None:
            self._decoded = parse_body(self.headers.get("content-type", ""), self.body)
        return self._decoded

    @property
    def json(self) -> Any:
        return self._decode()[0]

    @property
    def form(self) -> dict[str, str] | None:
        return self._decode()[1]


@dataclass(slots=True)
class Response:
    status: int
    body: bytes
    delay: float = 0.0  # seconds to hold the answer back, without blocking the loop
    content_type: str = "application/json"
    drop: bool = False  # cut the connection instead of answering


App = Callable[[HttpRequest], Response]


def json_response(status: int, body: Any, delay: float = 0.0) -> Response:
    return Response(
        status, json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode(), delay
    )


class BadRequest(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def parse_request(buf: bytearray) -> HttpRequest | None:
    """Take one complete request off the front of `buf`; None if more bytes are needed."""
    while buf.startswith(b"\r\n"):  # RFC 9112 2.2: ignore empty lines before a request line
        del buf[:2]
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        if len(buf) > MAX_HEAD:
            raise BadRequest(431)
        return None
    lines = buf[:end].decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequest(400)
    method, target, version = parts
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            raise BadRequest(400)
        name = name.strip().lower()
        value = value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    if "transfer-encoding" in headers:
        raise BadRequest(501)  # chunked request bodies are out of scope; say so loudly
    try:
        length = int(headers.get("content-length", "0"))
    except ValueError:
        raise BadRequest(400) from None
    if length < 0 or length > MAX_BODY:
        raise BadRequest(413)
    start = end + 4
    if len(buf) < start + length:
        return None
    body = bytes(buf[start : start + length])
    del buf[: start + length]
    path, _, query = target.partition("?")
    request = HttpRequest(
        method, unquote(path), dict(parse_qsl(query, keep_blank_values=True)), headers, body
    )
    tokens = headers.get("connection", "").lower()
    # HTTP/1.1 keeps the connection unless told otherwise; HTTP/1.0 only when asked to.
    request.keep_alive = "keep-alive" in tokens if version == "HTTP/1.0" else "close" not in tokens
    return request


def render(response: Response, keep_alive: bool) -> bytes:
    head = (
        f"HTTP/1.1 {response.status} {_REASONS.get(response.status, 'Unknown')}\r\n"
        f"Server: comeback-fake-platform\r\n"
        f"Content-Type: {response.content_type}\r\n"
        f"Content-Length: {len(response.body)}\r\n"
        f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
    )
    return head.encode("latin-1") + response.body


class HttpConnection(asyncio.Protocol):
    """One client connection; answers requests strictly in the order they arrived."""

    def __init__(self, app: App, connections: set[asyncio.BaseTransport]) -> None:
        self._app = app
        self._connections = connections
        self._buf = bytearray()
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None  # a delayed answer is pending

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._connections.add(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._transport is not None:
            self._connections.discard(self._transport)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._transport = None

    def data_received(self, data: bytes) -> None:
        self._buf += data
        if self._timer is None:
            self._serve_buffered()

    def _serve_buffered(self) -> None:
        # Pipelined requests wait while a delayed answer is pending, so answers stay in order.
        while self._open() and self._timer is None:
            try:
                request = parse_request(self._buf)
            except BadRequest as error:
                body = f'{{"error":"{_REASONS.get(error.status, "bad request")}"}}'.encode()
                self._send(Response(error.status, body), keep_alive=False)
                return
            if request is None:
                return
            response = self._app(request)
            if response.delay > 0:
                loop = asyncio.get_running_loop()
                self._timer = loop.call_later(response.delay, self._send_later, request, response)
                return
            self._send(response, request.keep_alive)

    def _send_later(self, request: HttpRequest, response: Response) -> None:
        self._timer = None
        self._send(response, request.keep_alive)
        self._serve_buffered()

    def _open(self) -> bool:
        return self._transport is not None and not self._transport.is_closing()

    def _send(self, response: Response, keep_alive: bool) -> None:
        if not self._open():
            return
        assert self._transport is not None
        if response.drop:
            self._transport.abort()  # the answer is lost on the way: a reset, no bytes
            return
        self._transport.write(render(response, keep_alive))
        if not keep_alive:
            self._transport.close()


class HttpServer:
    """Listens on one address and hands every parsed request to `app` on the loop thread."""

    def __init__(self, app: App) -> None:
        self._app = app
        self._connections: set[asyncio.BaseTransport] = set()
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> int:
        """Bind and listen; return the port actually bound (useful with port 0)."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: HttpConnection(self._app, self._connections), host, port, backlog=1024
        )
        bound: int = self._server.sockets[0].getsockname()[1]
        return bound

    async def close(self) -> None:
        """Stop listening and drop idle keep-alive connections (clients just reconnect)."""
        if self._server is None:
            return
        self._server.close()
        for transport in list(self._connections):
            transport.close()
        await self._server.wait_closed()
        self._server = None
