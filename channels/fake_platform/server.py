"""FakePlatform: the fake server on a background asyncio loop, driven from tests and benchmarks."""

import asyncio
import ipaddress
import threading
from types import TracebackType
from typing import Any, Self

from .base import check_platform
from .control import configure
from .dispatch import FakeApp
from .protocol import HttpServer
from .recorder import RecordedRequest


def loopback_host(host: str) -> str:
    """Return `host` if it is a loopback address, else raise ValueError.

    The fake accepts any token and records bodies; it must never be reachable from outside.
    """
    if host == "localhost":
        return "127.0.0.1"  # a name could resolve anywhere; pin it to the address it means
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"host {host!r} is not an IP address; use 127.0.0.1 or ::1") from None
    if not address.is_loopback:
        raise ValueError(f"refusing to listen on non-loopback host {host!r}")
    return host


class FakePlatform:
    """Imitates the send and webhook-registration APIs of the five platforms on loopback.

    Usage: ``with FakePlatform() as fake: requests.post(f"{fake.url}/bot1:x/getMe")``.
    """

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, max_records: int | None = None
    ) -> None:
        """`max_records` keeps only the newest records (counters stay exact); None keeps all."""
        self.host = loopback_host(host)
        self.port = port
        self._app = FakeApp(max_records)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: HttpServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    # Lifecycle ---------------------------------------------------------------------------------
    def start(self) -> Self:
        """Listen on a daemon thread's event loop; returns once the socket accepts connections."""
        if self._thread is not None:
            raise RuntimeError("already started")
        loop = asyncio.new_event_loop()
        server = HttpServer(self._app)
        try:
            self.port = loop.run_until_complete(server.start(self.host, self.port))
        except BaseException:
            loop.close()
            raise
        self._loop, self._server = loop, server
        self._thread = threading.Thread(
            target=loop.run_forever, name=f"fake-platform-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close the listener and all connections, then end the loop thread."""
        loop, server, thread = self._loop, self._server, self._thread
        if loop is None or server is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
        self._loop = self._server = self._thread = None

    def __enter__(self) -> Self:
        return self if self._thread is not None else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # Records -----------------------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot copy of every recorded platform request, in arrival order."""
        with self._app.lock:
            return self._app.recorder.select()

    def requests_for(self, platform: str) -> list[RecordedRequest]:
        check_platform(platform)
        with self._app.lock:
            return self._app.recorder.select(platform)

    def stats(self) -> dict[str, Any]:
        """Counts per platform and per answered status (same as GET /_fake/stats)."""
        with self._app.lock:
            return self._app.recorder.stats()

    def clear(self) -> None:
        """Forget recorded requests and counters; keep the behaviour config."""
        self._app.clear()

    def reset(self) -> None:
        """clear() and drop all behaviour config."""
        self._app.reset()

    # Behaviour ---------------------------------------------------------------------------------
    def set_rate_limit(self, token: str, per_second: int | None) -> None:
        """At most `per_second` calls per token in any 1-second window (None removes it)."""
        with self._app.lock:
            self._app.behaviour.set_rate_limit(token, per_second)

    def block(self, recipient: str | int, platform: str | None = None) -> None:
        """Answer sends to `recipient` with the platform's blocked / unsubscribed error."""
        with self._app.lock:
            self._app.behaviour.block(str(recipient), platform)

    def fail(
        self, status: int = 500, count: int | None = None, platform: str | None = None
    ) -> None:
        """The next `count` platform calls (None: all until reset) answer `status` (5xx)."""
        with self._app.lock:
            self._app.behaviour.fail(status, count, platform)

    def slow(self, seconds: float, count: int | None = None, platform: str | None = None) -> None:
        """Hold the next `count` answers back by `seconds`, without blocking other requests."""
        with self._app.lock:
            self._app.behaviour.slow(seconds, count, platform)

    def drop(self, fraction: float, seed: int | None = None) -> None:
        """Cut the connection of this share of platform calls after handling and recording
        them, before answering (the message went out; the client cannot tell)."""
        with self._app.lock:
            self._app.behaviour.drop(fraction, seed)

    def error(self, platform: str, body: Any, status: int) -> None:
        """The next call on `platform` answers exactly `body` (JSON) with HTTP `status`."""
        with self._app.lock:
            self._app.behaviour.error(platform, body, status)

    def configure(self, config: dict[str, Any]) -> None:
        """Apply a config in the JSON shape POST /_fake/config takes."""
        with self._app.lock:
            configure(self._app.behaviour, config)
