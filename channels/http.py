"""The one seam through which every request to a messenger platform goes.

Not requests, and not http.client: platform calls are plain POSTs with small JSON answers,
and the dispatcher pays for every microsecond around them. requests' machinery (sessions,
cookies, redirects, hooks, urllib3's pool) cost about 0.5 ms of CPU per send; http.client's
header parsing a third of what was left. channels/http_connection.py holds one keep-alive
connection per thread and host; see bench/README.md for the figures.

Every failure leaves as one of the classified `channels.errors`: the dispatcher never sees a
socket or protocol exception, and never has to guess whether a request reached the platform.
"""

import base64
import functools
import http.client
import json
import re
import select
import threading
import urllib.request
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, unquote, urlencode, urlsplit

from channels.errors import ConfigurationError, RejectedByPolicy, Transient
from channels.http_connection import Connection, request_bytes

CONNECT_TIMEOUT = 3.05
READ_TIMEOUT = 10
# Platform answers are a few hundred bytes; a body this big means api_base is wrong.
MAX_ANSWER_BYTES = 1024 * 1024
HEADERS = {"User-Agent": "comeback", "Accept": "application/json"}
# Error texts may quote a URL, which carries Telegram's bot token in its path and Meta's
# access_token in its query: reasons are stored and shown, so URLs are left out of them.
_URL = re.compile(r"[a-z][a-z0-9+.-]*://[^\s'\"]*|/bot[^/\s'\"]+")


def _described(exc: BaseException) -> str:
    """The exception's class and message, with any URL replaced by "<url>"."""
    return f"{type(exc).__name__}: {_URL.sub('<url>', str(exc))}"


@dataclass(frozen=True, slots=True)
class PlatformResponse:
    status_code: int
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)


@dataclass(frozen=True, slots=True)
class _Target:
    """Where a request goes: the connection to use, the request line's target, extra headers."""

    key: tuple[str, str, int, str]  # (scheme, host, port, proxy): one connection each
    path: str
    headers: dict[str, str]


class PlatformSession:
    """Keep-alive HTTP for platform calls, with timeouts; every failure becomes a SendError.

    Each thread keeps its own connections (a Connection is not thread-safe), so the
    dispatcher's sender threads never wait for one another's sockets.
    """

    def __init__(self) -> None:
        self._local = threading.local()
        self._proxies_key = tuple(sorted(urllib.request.getproxies().items()))
        # Every connection opened, for close(); weak, so a finished thread's go with it.
        self._opened: weakref.WeakSet[Connection] = weakref.WeakSet()

    def post(
        self,
        url: str,
        *,
        json_body: Any = None,
        form: dict[str, Any] | None = None,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        timeout: float = READ_TIMEOUT,
    ) -> PlatformResponse:
        """POST `json_body` as JSON, `form` urlencoded or `body` as given (with its headers)."""
        target = self._target(url, params)
        sent_headers = {**HEADERS, **target.headers, **(headers or {})}
        payload = _encode(json_body, form, body, sent_headers)
        connection = self._connection(target)
        try:
            request = request_bytes(target.path, connection.authority, sent_headers, payload)
            if connection.sock is None:
                connection.open()  # connected first: a refused connection wrote nothing
            hook, self._local.before_write = getattr(self._local, "before_write", None), None
            if hook is not None:
                hook()
            connection.send(request, timeout)
        except (UnicodeEncodeError, ValueError, http.client.HTTPException) as exc:
            # A credential that cannot go in a path or header (a space, a newline, non-Latin-1
            # characters) is found before a byte goes out: configuration. So is a certificate
            # that does not verify (ssl's verification error is a ValueError too).
            connection.close()
            raise ConfigurationError(f"request cannot be made: {_described(exc)}") from exc
        except OSError as exc:
            # Refused, unreachable, or broken off while the request was still being written:
            # the platform never got a whole request, so it cannot have acted on it.
            connection.close()
            raise Transient(f"connection failed: {_described(exc)}", maybe_sent=False) from exc
        return _answer(connection, timeout)

    def before_next_write(self, hook: Callable[[], None] | None) -> None:
        """Call `hook` (in this thread) just before the next request's bytes are written, once:
        the dispatcher's send journal notes a row there (campaigns/dispatch/journal.py). None
        cancels a hook no request used."""
        self._local.before_write = hook

    def _target(self, url: str, params: dict[str, str] | None) -> _Target:
        # A provider calls the same few URLs again and again: parse each once (this was a
        # tenth of a send's CPU, proxy checks included).
        return _target(url, tuple(params.items()) if params else (), self._proxies_key)

    def _connection(self, target: _Target) -> Connection:
        connections = getattr(self._local, "connections", None)
        if connections is None:
            connections = self._local.connections = {}
        connection = connections.get(target.key)
        if connection is not None and connection.sock is not None and _dropped(connection):
            connection.close()  # the platform closed it while it was idle: connect again
        if connection is None:
            connection = connections[target.key] = _connect(*target.key)
            self._opened.add(connection)
        return connection

    def close(self) -> None:
        """Close every connection this session opened, in any thread."""
        for connection in list(self._opened):
            connection.close()


@functools.lru_cache(maxsize=1024)
def _target(url: str, params: tuple[tuple[str, str], ...], proxies: tuple) -> _Target:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:  # "http://[::1/x", a port that is not a number
        raise ConfigurationError(f"request cannot be made: {_described(exc)}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            "request cannot be made: the URL needs http:// or https:// and a host"
        )
    path = parts.path or "/"
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    path = f"{path}?{query}" if query else path
    proxy = dict(proxies).get(parts.scheme, "")
    if proxy and urllib.request.proxy_bypass(parts.hostname):
        proxy = ""
    headers = {}
    if proxy and parts.scheme == "http":
        # A plain-HTTP proxy forwards absolute-URI requests, and reads its credentials from
        # each request (HTTPS ones get them once, in the CONNECT: see _connect).
        path = f"http://{parts.netloc}{path}"
        headers = _proxy_auth(proxy)
    port = port or (443 if parts.scheme == "https" else 80)
    return _Target((parts.scheme, parts.hostname, port, proxy), path, headers)


def _answer(connection: Connection, timeout: float) -> PlatformResponse:
    try:
        status, content, reusable = connection.answer(MAX_ANSWER_BYTES)
    except TimeoutError as exc:
        connection.close()
        # The platform had the request and did not answer in time: it may have sent it.
        raise Transient(f"timed out after {timeout}s", maybe_sent=True) from exc
    except (OSError, http.client.HTTPException, ValueError) as exc:
        # The answer broke off or is not HTTP. The platform had the whole request and may
        # have acted on it.
        connection.close()
        raise Transient(f"broken answer: {_described(exc)}", maybe_sent=True) from exc
    if not reusable:  # the peer closes it, or it was not read to the end
        connection.close()
    if 300 <= status < 400:
        # Platform APIs answer sends themselves: a redirect means api_base points at some
        # other site. Not followed, so nothing was sent through it.
        raise ConfigurationError(f"the platform answered a redirect (HTTP {status})")
    return PlatformResponse(status, content[:MAX_ANSWER_BYTES])


def _encode(
    json_body: Any, form: dict[str, Any] | None, body: bytes | None, headers: dict[str, str]
) -> bytes:
    if body is not None:
        return body
    if form is not None:
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        return urlencode(form, doseq=True).encode()
    if json_body is None:
        return b""
    headers.setdefault("Content-Type", "application/json")
    try:
        return json.dumps(json_body, separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        # This message's content (e.g. NaN) cannot be JSON: skip it, the account is fine.
        raise RejectedByPolicy(f"not JSON-encodable: {exc}") from exc


def _connect(scheme: str, host: str, port: int, proxy: str) -> Connection:
    """A connection (not yet open) to host:port, through `proxy` if one is configured."""
    tls = scheme == "https"
    if not proxy:
        return Connection(host, port, tls=tls, connect_timeout=CONNECT_TIMEOUT)
    url = _proxy_url(proxy)
    via = (url.hostname or "", url.port or 80)
    # Plain HTTP goes to the proxy as absolute URIs (see _target); HTTPS through a CONNECT
    # tunnel, which carries the proxy's credentials once.
    tunnel = _proxy_auth(proxy) if tls else None
    return Connection(
        host, port, tls=tls, via=via, tunnel_headers=tunnel, connect_timeout=CONNECT_TIMEOUT
    )


def _proxy_url(proxy: str) -> SplitResult:
    return urlsplit(proxy if "://" in proxy else f"http://{proxy}")


def _proxy_auth(proxy: str) -> dict[str, str]:
    via = _proxy_url(proxy)
    if not via.username:
        return {}
    secret = f"{unquote(via.username)}:{unquote(via.password or '')}".encode()
    return {"Proxy-Authorization": "Basic " + base64.b64encode(secret).decode()}


def _dropped(connection: Connection) -> bool:
    """An idle keep-alive socket that is readable was closed (or answered junk) by the peer."""
    poller = select.poll()
    poller.register(connection.sock, select.POLLIN)
    return bool(poller.poll(0))


def json_or_empty(response: PlatformResponse) -> dict[str, Any]:
    """The response's JSON object, or {} when the body is not one (e.g. an HTML 502 page)."""
    try:
        data = response.json()
    except (ValueError, RecursionError):  # RecursionError: absurdly nested JSON
        return {}
    return data if isinstance(data, dict) else {"result": data}


_shared: PlatformSession | None = None


def shared_session() -> PlatformSession:
    """A process-wide session, so sends reuse connections across calls."""
    global _shared
    if _shared is None:
        _shared = PlatformSession()
    return _shared
