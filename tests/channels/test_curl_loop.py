import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from channels.curl_loop import CurlLoop, LoopSession
from channels.errors import Transient
from tests.channels.loop_driven import LoopDriven

TOGETHER = 5


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        if self.path == "/stuck":
            self.server.release.wait(30)  # answers only once the test is over
        elif self.path == "/together":
            self.server.together.wait()  # BrokenBarrierError (no answer) unless all arrive
        body = b'{"ok":true}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.release = threading.Event()
        self.together = threading.Barrier(TOGETHER, timeout=10)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def server():
    server = _Server()
    # shutdown() waits for serve_forever's next poll: 0.5 s a test at its default.
    threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def driven():
    driven = LoopDriven()
    yield driven
    driven.close()


def test_its_requests_are_all_on_the_wire_at_once_from_one_thread(server, driven):
    # given a platform that answers none of five requests until it has all five
    threads = set()

    def post():
        threads.add(threading.get_ident())
        return driven.session.post(f"{server.url}/together", json_body={})

    # when the five are sent on one loop
    ended = driven.run_together(*[post] * TOGETHER)

    # then each was answered, so all five were in flight together, each from this thread
    assert [(answer.status_code, error) for answer, error in ended] == [(200, None)] * TOGETHER
    assert threads == {threading.get_ident()}


def test_a_request_the_platform_sits_on_times_out_without_holding_up_the_others(server, driven):
    # given a platform that never answers one path, and answers another at once
    finished = []

    def post(path: str, timeout: float) -> int:  # the quick one has 2 s to overtake
        try:
            answer = driven.session.post(f"{server.url}{path}", json_body={}, timeout=timeout)
            return answer.status_code
        finally:
            finished.append(path)

    # when both go out together
    [(_, stuck), (quick, error)] = driven.run_together(
        lambda: post("/stuck", 2), lambda: post("/quick", 10)
    )

    # then the quick one is answered first, and the other is reported as maybe sent
    assert (quick, error) == (200, None)
    assert finished == ["/quick", "/stuck"]
    assert isinstance(stuck, Transient) and stuck.maybe_sent is True
    assert "timed out" in str(stuck)


def test_a_wake_ends_a_step_waiting_on_nothing():
    # given a loop waiting, in its own thread, with no request and no timer
    loop = CurlLoop()
    loop.sleeping = True
    waiting = threading.Thread(target=loop.step, args=(None,), daemon=True)
    waiting.start()

    # when another thread wakes it
    loop.wake()

    # then the step returns
    waiting.join(10)
    assert not waiting.is_alive()
    loop.close()


def test_jobs_handed_over_during_one_sleep_wake_the_loop_once():
    loop = CurlLoop()
    loop.sleeping = True

    loop.wake()
    loop.wake()

    assert loop._wake_in.recv(16) == b"w"
    loop.close()


def test_a_post_outside_a_greenlet_of_the_loop_is_refused(server):
    session = LoopSession(CurlLoop())

    with pytest.raises(RuntimeError, match="greenlets spawned on the loop"):
        session.post(f"{server.url}/quick", json_body={})
