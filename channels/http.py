"""The one seam through which every request to a messenger platform goes: libcurl, via pycurl.

Platform calls are plain POSTs with small JSON answers and the dispatcher pays for every
microsecond around them, so they go through libcurl (a maintained C client: HTTP/1.1 framing,
TLS, proxies and CONNECT tunnels, keep-alive). PlatformSession gives each calling thread an
easy handle that keeps its connections alive between calls, and pycurl releases the GIL while
libcurl works. The dispatcher drives many requests from one thread instead, through libcurl's
multi interface (channels/curl_loop.py: the same `post`, another transfer). bench/dispatch.py
--compare measures both against aiohttp, requests and the framing we used to write ourselves
(bench/README.md).

Every failure leaves as one of the classified `channels.errors`: the dispatcher never sees a
socket or protocol exception, and never has to guess whether a request reached the platform.
"""

import functools
import json
import os
import re
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import certifi
import pycurl

from channels.errors import ConfigurationError, RejectedByPolicy, Transient

CONNECT_TIMEOUT = 3.05
READ_TIMEOUT = 10
# Platform answers are a few hundred bytes; a body this big means api_base is wrong.
MAX_ANSWER_BYTES = 1024 * 1024
HEADERS = {"User-Agent": "comeback", "Accept": "application/json"}
# The CA certificates platforms are verified against (requests uses the same bundle).
CA_BUNDLE = certifi.where()
# Error texts may quote a URL, which carries Telegram's bot token in its path and Meta's
# access_token in its query: reasons are stored and shown, so URLs are left out of them.
_URL = re.compile(r"[a-z][a-z0-9+.-]*://[^\s'\"]*|/bot[^/\s'\"]+")
_FORBIDDEN = frozenset("\r\n\0")
# libcurl's answers to a request it could not even start: the URL or the TLS trust is wrong,
# which no retry mends.
_CANNOT_BE_MADE = {pycurl.E_URL_MALFORMAT, pycurl.E_UNSUPPORTED_PROTOCOL}
_UNTRUSTED = {
    pycurl.E_PEER_FAILED_VERIFICATION,
    pycurl.E_SSL_CACERT_BADFILE,
    pycurl.E_SSL_CERTPROBLEM,
    pycurl.E_SSL_PINNEDPUBKEYNOTMATCH,
}


def _described(exc: BaseException) -> str:
    """The exception's class and message, with any URL replaced by "<url>"."""
    return f"{type(exc).__name__}: {_URL.sub('<url>', str(exc))}"


@dataclass(frozen=True, slots=True)
class PlatformResponse:
    status_code: int
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)


class _Handle:
    """One thread's libcurl handle, its callbacks bound once, and the state of its request."""

    __slots__ = ("curl", "hook", "limit", "parts", "pid", "proxy", "size", "too_big", "written")

    def __init__(self) -> None:
        self.curl = curl = pycurl.Curl()
        self.pid = os.getpid()  # a handle inherited through fork() is not used
        self.parts: list[bytes] = []
        self.size = self.limit = 0
        self.too_big = self.written = False
        self.hook: Callable[[], None] | None = None
        self.proxy: str | None = None
        curl.setopt(pycurl.NOSIGNAL, 1)  # threads: time out without SIGALRM
        curl.setopt(pycurl.POST, 1)
        curl.setopt(pycurl.FOLLOWLOCATION, 0)
        curl.setopt(pycurl.CAINFO, CA_BUNDLE)
        curl.setopt(pycurl.CONNECTTIMEOUT_MS, int(CONNECT_TIMEOUT * 1000))
        curl.setopt(pycurl.WRITEFUNCTION, self._write)
        curl.setopt(pycurl.PREREQFUNCTION, self._prereq)

    def _write(self, data: bytes) -> int | None:
        room = self.limit + 1 - self.size
        if len(data) > room:  # too big to be an answer: keep the start, stop reading
            self.parts.append(data[:room])
            self.size += room
            self.too_big = True
            return 0  # libcurl aborts the transfer and closes the connection
        self.parts.append(data)
        self.size += len(data)
        return None

    def _prereq(self, *_: Any) -> int:
        # Connected (through any proxy tunnel and TLS), request not yet written.
        self.written = True
        hook, self.hook = self.hook, None
        if hook is not None:
            hook()
        return pycurl.PREREQFUNC_OK


class PlatformSession:
    """Keep-alive HTTP for platform calls, with timeouts; every failure becomes a SendError.

    Each thread keeps its own libcurl handle (a handle is not thread-safe), so threads sending
    at once never wait for one another's connections.
    """

    def __init__(self) -> None:
        self._local = threading.local()
        self._proxies_key = tuple(sorted(urllib.request.getproxies().items()))
        self._opened: list[_Handle] = []  # every handle made, for close()
        self._lock = threading.Lock()

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
        full_url, proxy = _target(url, tuple(params.items()) if params else (), self._proxies_key)
        sent_headers = {**HEADERS, **(headers or {})}
        payload = _encode(json_body, form, body, sent_headers)
        try:
            lines = _header_lines(tuple(sent_headers.items()))
        except (UnicodeEncodeError, ValueError) as exc:
            # A credential that cannot go in a header (a newline, non-Latin-1 characters) is
            # found before a byte goes out: configuration.
            raise ConfigurationError(f"request cannot be made: {_described(exc)}") from exc
        handle = self._take_handle()
        try:
            return self._perform(handle, full_url, proxy, lines, payload, timeout)
        finally:
            self._give_back(handle)

    def _perform(
        self,
        handle: _Handle,
        url: str,
        proxy: str,
        lines: tuple[bytes, ...],
        payload: bytes,
        timeout: float,
    ) -> PlatformResponse:
        handle.parts, handle.size, handle.limit = [], 0, MAX_ANSWER_BYTES
        handle.too_big = handle.written = False
        handle.hook, self._local.before_write = getattr(self._local, "before_write", None), None
        curl = handle.curl
        curl.setopt(pycurl.URL, url)
        if proxy != handle.proxy:
            curl.setopt(pycurl.PROXY, proxy)  # "" also keeps libcurl off the environment's
            handle.proxy = proxy
        curl.setopt(pycurl.HTTPHEADER, lines)
        curl.setopt(pycurl.POSTFIELDS, payload)
        # `timeout` bounds the whole request, connecting included (at most CONNECT_TIMEOUT).
        curl.setopt(pycurl.TIMEOUT_MS, int(timeout * 1000))
        try:
            self._transfer(curl)
        except pycurl.error as exc:
            if not (handle.too_big and exc.args[0] == pycurl.E_WRITE_ERROR):
                raise _classified(exc, handle.written, timeout) from exc
        finally:
            handle.hook = None
        status = curl.getinfo(pycurl.RESPONSE_CODE)
        if 300 <= status < 400:
            # Platform APIs answer sends themselves: a redirect means api_base points at some
            # other site. Not followed, so nothing was sent through it.
            raise ConfigurationError(f"the platform answered a redirect (HTTP {status})")
        return PlatformResponse(status, b"".join(handle.parts)[: handle.limit])

    # How a request gets its handle and is carried out: one handle per thread, each transfer
    # run to its end in the calling thread. channels/curl_loop.py overrides these three.
    def _take_handle(self) -> _Handle:
        handle = getattr(self._local, "handle", None)
        if handle is None or handle.pid != os.getpid():
            handle = self._local.handle = self._new_handle()
        return handle

    def _give_back(self, handle: _Handle) -> None:
        pass

    def _transfer(self, curl: pycurl.Curl) -> None:
        curl.perform()

    def _new_handle(self) -> _Handle:
        handle = _Handle()
        with self._lock:
            self._opened.append(handle)
        return handle

    def before_next_write(self, hook: Callable[[], None] | None) -> None:
        """Call `hook` (in this thread) just before the next request's bytes are written, once:
        the dispatcher's send journal notes a row there (campaigns/dispatch/journal.py). None
        cancels a hook no request used."""
        self._local.before_write = hook

    def close(self) -> None:
        """Close every connection this session opened, in any thread."""
        with self._lock:
            opened, self._opened = self._opened, []
        for handle in opened:
            handle.curl.close()
        self._local = threading.local()


def _classified(exc: pycurl.error, written: bool, timeout: float) -> Exception:
    code, message = exc.args
    cause = f"curl {code}: {_URL.sub('<url>', message)}"
    if code in _CANNOT_BE_MADE and not written:
        return ConfigurationError(f"request cannot be made: {cause}")
    if code in _UNTRUSTED:
        return ConfigurationError(f"request cannot be made: certificate does not verify: {cause}")
    if not written or code == pycurl.E_SEND_ERROR:
        # Refused, unreachable, a proxy that would not tunnel, or broken off while the request
        # was still being written: the platform never got a whole request.
        return Transient(f"connection failed: {cause}", maybe_sent=False)
    if code == pycurl.E_OPERATION_TIMEDOUT:
        # The platform had the request and did not answer in time: it may have sent it.
        return Transient(f"timed out after {timeout}s ({cause})", maybe_sent=True)
    # The answer broke off or is not HTTP. The platform had the whole request and may have
    # acted on it.
    return Transient(f"broken answer: {cause}", maybe_sent=True)


@functools.lru_cache(maxsize=1024)
def _target(url: str, params: tuple[tuple[str, str], ...], proxies: tuple) -> tuple[str, str]:
    """(the URL with `params` in its query, the proxy to go through or ""); parsed once per URL."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as exc:  # "http://[::1/x", a port that is not a number
        raise ConfigurationError(f"request cannot be made: {_described(exc)}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            "request cannot be made: the URL needs http:// or https:// and a host"
        )
    if not url.isascii() or any(c <= " " or c == "\x7f" for c in url):
        raise ConfigurationError(
            "request cannot be made: the URL has spaces, controls or non-ASCII characters"
        )
    query = urlencode(params)
    if query:
        url = f"{url}&{query}" if parts.query else f"{url}?{query}"
    proxy = dict(proxies).get(parts.scheme, "")
    if proxy and urllib.request.proxy_bypass(parts.hostname):
        proxy = ""
    return url, proxy


@functools.lru_cache(maxsize=256)  # an account sends the same few headers with every request
def _header_lines(headers: tuple[tuple[str, str], ...]) -> tuple[bytes, ...]:
    lines = [b"Expect:"]  # never wait for "100 Continue": platforms answer small POSTs at once
    for name, value in headers:
        if _FORBIDDEN.intersection(name + value):
            raise ValueError(f"header {name!r} cannot contain a line break or NUL")
        lines.append(f"{name}: {value}".encode("latin-1"))
    return tuple(lines)


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
