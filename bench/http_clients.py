"""The HTTP clients bench/dispatch.py --compare puts side by side under the real dispatcher.

Each is a drop-in for channels.http.PlatformSession as the sender uses it (`post`,
`before_next_write`, `close`), so the only thing that differs between two runs is the client:

- `pycurl loop`: the service's client and its default: one thread driving libcurl's multi
  handle, each send a greenlet (channels/curl_loop.py);
- `pycurl`: channels/http.py itself on a thread per concurrent send, one easy handle each
  (DISPATCH_CURL_LOOP=false; the sandbox and e-mail are always sent this way);
- `aiohttp`: one asyncio loop on its own thread with one ClientSession (llhttp's parser); the
  dispatcher's sender threads hand it requests and wait for the answers;
- `requests`: one requests.Session per thread (urllib3's pool);
- `framing`: the HTTP/1.1 framing we wrote ourselves until issue #14
  (channels/http_connection.py), loaded from git at FRAMING_COMMIT, for the before/after.

Only the service's client classifies every failure; the others map any failure to a Transient,
which is all the unthrottled fake ever makes them meet.
"""

import asyncio
import importlib.util
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from channels.errors import Transient
from channels.http import HEADERS, READ_TIMEOUT, PlatformResponse, PlatformSession, _encode

ROOT = Path(__file__).resolve().parent.parent
LOOP = "pycurl loop"
# The last commit with our own framing (channels/http_connection.py).
FRAMING_COMMIT = "d2893b5"


class _Hooked:
    """before_next_write() as the sender calls it: the hook runs once, before the next post."""

    def __init__(self) -> None:
        self._local = threading.local()

    def before_next_write(self, hook: Callable[[], None] | None) -> None:
        self._local.hook = hook

    def _run_hook(self) -> None:
        hook, self._local.hook = getattr(self._local, "hook", None), None
        if hook is not None:
            hook()


class AiohttpSession(_Hooked):
    def __init__(self) -> None:
        super().__init__()
        import aiohttp

        self._aiohttp = aiohttp
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._session = asyncio.run_coroutine_threadsafe(self._open(), self._loop).result()

    async def _open(self) -> Any:
        # No connection limit: the sender's threads (64) bound the requests in flight.
        connector = self._aiohttp.TCPConnector(limit=0, ttl_dns_cache=300)
        return self._aiohttp.ClientSession(connector=connector, headers=HEADERS)

    def post(self, url: str, *, json_body: Any = None, form: Any = None, body: Any = None,
             headers: dict[str, str] | None = None, params: dict[str, str] | None = None,
             timeout: float = READ_TIMEOUT) -> PlatformResponse:  # fmt: skip
        sent = dict(headers or {})
        payload = _encode(json_body, form, body, sent)
        self._run_hook()
        future = asyncio.run_coroutine_threadsafe(
            self._post(url, payload, sent, params, timeout), self._loop
        )
        return future.result()

    async def _post(self, url, payload, headers, params, timeout) -> PlatformResponse:
        try:
            async with self._session.post(
                url, data=payload, headers=headers, params=params, allow_redirects=False,
                timeout=self._aiohttp.ClientTimeout(total=timeout),
            ) as answer:  # fmt: skip
                return PlatformResponse(answer.status, await answer.read())
        except (self._aiohttp.ClientError, TimeoutError) as exc:
            raise Transient(f"aiohttp: {type(exc).__name__}", maybe_sent=True) from exc

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._session.close(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()


class RequestsSession(_Hooked):
    def __init__(self) -> None:
        super().__init__()
        self._sessions: list[Any] = []

    def post(self, url: str, *, json_body: Any = None, form: Any = None, body: Any = None,
             headers: dict[str, str] | None = None, params: dict[str, str] | None = None,
             timeout: float = READ_TIMEOUT) -> PlatformResponse:  # fmt: skip
        import requests

        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.headers.update(HEADERS)
            self._sessions.append(session)
        sent = dict(headers or {})
        payload = _encode(json_body, form, body, sent)
        self._run_hook()
        try:
            answer = session.post(url, data=payload, headers=sent, params=params,
                                  timeout=timeout, allow_redirects=False)  # fmt: skip
        except requests.RequestException as exc:
            raise Transient(f"requests: {type(exc).__name__}", maybe_sent=True) from exc
        return PlatformResponse(answer.status_code, answer.content)

    def close(self) -> None:
        for session in self._sessions:
            session.close()


def framing_session() -> type | None:
    """PlatformSession as of FRAMING_COMMIT (our own framing), or None without git history."""
    folder = Path(tempfile.mkdtemp(prefix="bench-framing-"))
    modules = {"http_connection": "bench_framing_connection", "http": "bench_framing_http"}
    for name, module_name in modules.items():
        shown = subprocess.run(
            ["git", "show", f"{FRAMING_COMMIT}:channels/{name}.py"],
            cwd=ROOT, capture_output=True, text=True,
        )  # fmt: skip
        if shown.returncode:
            return None
        source = shown.stdout.replace(
            "from channels.http_connection import", "from bench_framing_connection import"
        )
        (folder / f"{module_name}.py").write_text(source)
    for module_name in modules.values():  # the connection first: the session imports it
        spec = importlib.util.spec_from_file_location(module_name, folder / f"{module_name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    return sys.modules["bench_framing_http"].PlatformSession


def clients() -> dict[str, type | None]:
    """Every client by name; None where it cannot be loaded here."""
    return {
        LOOP: PlatformSession,  # HTTP goes through the sender's LoopSession; this is for the rest
        "pycurl": PlatformSession,
        "aiohttp": AiohttpSession if importlib.util.find_spec("aiohttp") else None,
        "requests": RequestsSession,
        "framing": framing_session(),
    }
