"""Closed-loop HTTP load from libcurl's multi interface: many requests in flight from one
thread, so the load generator's own CPU stays small beside the server it measures (a thread per
client with `requests` costs about 1 ms of Python per request, as much as the server's work).

The bench supplies a request per number and counts what an answer accepted.
"""

import io
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pycurl

# (url, body, headers) for request number n
Request = tuple[str, bytes, list[str]]


@dataclass
class Result:
    accepted: int = 0
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def _prepare(handle: pycurl.Curl, request: Request) -> io.BytesIO:
    """Set `handle` up to POST `request` as JSON; the answer's body goes to the sink returned."""
    url, body, headers = request
    sink = io.BytesIO()
    handle.setopt(pycurl.URL, url)
    handle.setopt(pycurl.POSTFIELDS, body)
    handle.setopt(pycurl.HTTPHEADER, ["Content-Type: application/json", *headers])
    handle.setopt(pycurl.WRITEDATA, sink)
    return sink


def closed_loop(
    clients: int,
    seconds: float,
    request: Callable[[int], Request],
    accepted: Callable[[int, bytes], int],
) -> Result:
    """`clients` requests always in flight for `seconds`: each answer starts the next request.
    `accepted(status, body)` says how many items an answer took."""
    multi = pycurl.CurlMulti()
    counter = itertools.count()
    result = Result()
    stop_at = time.monotonic() + seconds
    started: dict[pycurl.Curl, tuple[float, io.BytesIO]] = {}

    def arm(handle: pycurl.Curl) -> None:
        sink = _prepare(handle, request(next(counter)))
        started[handle] = (time.perf_counter(), sink)
        multi.add_handle(handle)

    for _ in range(clients):
        arm(pycurl.Curl())
    while started:
        while multi.perform()[0] == pycurl.E_CALL_MULTI_PERFORM:
            pass
        _, done, failed = multi.info_read()
        if not done and not failed:
            multi.select(0.05)
            continue
        for handle in done:
            began, sink = started.pop(handle)
            result.latencies.append(time.perf_counter() - began)
            result.accepted += accepted(handle.getinfo(pycurl.RESPONSE_CODE), sink.getvalue())
        for handle, _code, message in failed:
            started.pop(handle)
            result.failures.append(message[:200])
        for handle in [*done, *(item[0] for item in failed)]:
            multi.remove_handle(handle)
            if time.monotonic() < stop_at:
                arm(handle)
            else:
                handle.close()
    multi.close()
    return result


def open_loop(
    rate: float, count: int, request: Callable[[int], Request]
) -> tuple[dict[int, float], list[str]]:
    """Start request n at n / `rate` seconds whatever the answers (open loop: a slow server
    meets the same offered rate). Returns n -> the wall-clock time it started, and what failed
    (an error, or an answer other than 200 or 201)."""
    multi = pycurl.CurlMulti()
    spare: list[pycurl.Curl] = []
    running: dict[pycurl.Curl, io.BytesIO] = {}
    started: dict[int, float] = {}
    failures: list[str] = []
    begin = time.monotonic()
    n = 0
    while n < count or running:
        while n < count and begin + n / rate <= time.monotonic():
            handle = spare.pop() if spare else pycurl.Curl()
            sink = _prepare(handle, request(n))
            started[n] = time.time()
            running[handle] = sink
            multi.add_handle(handle)
            n += 1
        while multi.perform()[0] == pycurl.E_CALL_MULTI_PERFORM:
            pass
        _, done, failed = multi.info_read()
        for handle in done:
            status = handle.getinfo(pycurl.RESPONSE_CODE)
            if status not in (200, 201):
                failures.append(f"{status} {running[handle].getvalue()[:200]!r}")
        failures.extend(message[:200] for _, _, message in failed)
        for handle in [*done, *(item[0] for item in failed)]:
            running.pop(handle)
            multi.remove_handle(handle)
            spare.append(handle)
        until_next = begin + n / rate - time.monotonic() if n < count else 0.05
        multi.select(min(max(until_next, 0.0), 0.05))
    for handle in spare:
        handle.close()
    multi.close()
    return started, failures
