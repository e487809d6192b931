"""A shop's webhook receiver on loopback, for the tests: a real HTTP server in a thread that
answers from a script (status codes, or "sleep" to time the caller out) and keeps every request."""

import http.server
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    answered: int | str  # the status sent, or "sleep" (no answer in time)
    at: float


class Receiver:
    def __init__(self, script: list[int | str], *, then: int = 200, sleep: float = 3.0) -> None:
        self.script = list(script)
        self.then = then
        self.sleep = sleep
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.url = ""

    def next_answer(self) -> int | str:
        with self.lock:
            return self.script.pop(0) if self.script else self.then

    def accepted_keys(self) -> list[str]:
        """The Idempotency-Key of every request answered 2xx: what the shop acted on."""
        return [
            r.headers["idempotency-key"]
            for r in self.received
            if isinstance(r.answered, int) and 200 <= r.answered < 300
        ]


@contextmanager
def receiver(script: list[int | str], **options) -> Iterator[Receiver]:
    shop = Receiver(script, **options)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            content = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            answer = shop.next_answer()
            headers = {k.lower(): v for k, v in self.headers.items()}
            with shop.lock:
                shop.received.append(Received(headers, content, answer, time.time()))
            if answer == "sleep":
                time.sleep(shop.sleep)
                answer = 200  # too late: the caller has given up on this attempt
            try:
                self.send_response(int(answer))
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the caller timed out and left: as a real shop's server would see it

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    # shutdown() waits for serve_forever's next poll: 0.5 s a test at its default.
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    shop.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/comeback"
    try:
        yield shop
    finally:
        server.shutdown()
        server.server_close()
