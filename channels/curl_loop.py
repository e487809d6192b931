"""Many platform requests at once on one thread: libcurl's multi interface, with greenlets.

A thread per concurrent send costs the dispatcher a hand-over to a thread, the GIL passed among
dozens of them and a wake-up back for every request (issue #14 measured 7-8 context switches
per delivery). Here one thread holds a libcurl multi handle: each send runs as a greenlet,
which parks when its request is handed to libcurl and is resumed with the transfer's result.
Providers keep their plain synchronous code (a request, its answer, maybe a next one), and
`LoopSession.post` is `PlatformSession.post` with only the transfer itself changed, so every
answer and failure is read and classified exactly as in channels/http.py.

libcurl tells which sockets to watch and when its next timeout is due (its socket and timer
callbacks); a selector waits on them and on a wake-up socket other threads write to
(`wake`). Greenlets are only ever resumed from `step`, never inside a libcurl callback,
because libcurl forbids calling into a multi handle from its own callbacks.
"""

import selectors
import socket
import time
from collections.abc import Callable
from typing import Any

import pycurl
from greenlet import getcurrent, greenlet

from channels.http import PlatformSession, _Handle

_WANTS = {
    pycurl.POLL_IN: selectors.EVENT_READ,
    pycurl.POLL_OUT: selectors.EVENT_WRITE,
    pycurl.POLL_INOUT: selectors.EVENT_READ | selectors.EVENT_WRITE,
}


class CurlLoop:
    """One thread's multi handle. `spawn` and `step` are called by that thread only."""

    def __init__(self) -> None:
        self._multi = pycurl.CurlMulti()
        self._multi.setopt(pycurl.M_SOCKETFUNCTION, self._watch)
        self._multi.setopt(pycurl.M_TIMERFUNCTION, self._set_timer)
        self._selector = selectors.DefaultSelector()
        self._due: float | None = None  # when libcurl wants its timeout action
        self._parked: dict[pycurl.Curl, greenlet] = {}
        self._watching: dict[int, int] = {}  # socket -> selector events, as libcurl asks
        self._hub: greenlet | None = None
        self._wake_in, self._wake_out = socket.socketpair()
        self._wake_in.setblocking(False)
        self._wake_out.setblocking(False)
        self._selector.register(self._wake_in, selectors.EVENT_READ, None)
        self.sleeping = False  # about to `step` for long: another thread must `wake` it
        self.running = 0  # spawned greenlets that have not finished

    # --- in a greenlet spawned on this loop ---------------------------------------------------
    def transfer(self, curl: pycurl.Curl) -> None:
        """Carry out `curl`'s request, parked until it ends; raises pycurl.error as perform()."""
        hub = self._hub
        if hub is None or getcurrent() is hub:
            raise RuntimeError("CurlLoop.transfer is for greenlets spawned on the loop")
        self._multi.add_handle(curl)
        self._parked[curl] = getcurrent()
        code, message = hub.switch()
        if code:
            raise pycurl.error(code, message)

    # --- in the loop's thread -----------------------------------------------------------------
    def spawn(self, function: Callable[..., Any], *args: Any) -> None:
        """Run `function(*args)` until its first request is under way (or it is done)."""
        self._hub = getcurrent()
        self.running += 1
        greenlet(self._run, self._hub).switch(function, args)

    def _run(self, function: Callable[..., Any], args: tuple) -> None:
        try:
            function(*args)
        finally:
            self.running -= 1

    def step(self, timeout: float | None) -> None:
        """Wait up to `timeout` seconds (None: until something happens) for a socket, libcurl's
        timer or a `wake`; let libcurl work; resume the greenlets whose transfers ended."""
        if self._due is not None:
            left = max(0.0, self._due - time.monotonic())
            timeout = left if timeout is None else min(timeout, left)
        for key, events in self._selector.select(timeout):
            if key.data is None:
                self._drain_wakes()
                continue
            action = (pycurl.CSELECT_IN if events & selectors.EVENT_READ else 0) | (
                pycurl.CSELECT_OUT if events & selectors.EVENT_WRITE else 0
            )
            self._multi.socket_action(key.fd, action)
        if self._due is not None and time.monotonic() >= self._due:
            self._due = None
            self._multi.socket_action(pycurl.SOCKET_TIMEOUT, 0)
        self._resume_finished()

    def wake(self) -> None:
        """From any thread: end the `step` the loop is `sleeping` in, at once. One wake-up per
        sleep: the jobs handed over together cost the loop's thread one wake-up, not one each."""
        if not self.sleeping:
            return
        self.sleeping = False
        try:
            self._wake_out.send(b"w")
        except BlockingIOError:
            pass  # the socket is full of wakes already

    def abandon(self, reason: str) -> None:
        """End every parked transfer with an error (the loop cannot carry them on): each
        caller's request fails as one broken off, so a send is never left waiting forever."""
        for curl in list(self._parked):
            self._resume(curl, pycurl.E_ABORTED_BY_CALLBACK, reason)

    def close(self) -> None:
        for curl in list(self._parked):
            self._multi.remove_handle(curl)
        self._multi.close()
        self._selector.close()
        self._wake_in.close()
        self._wake_out.close()

    def _resume_finished(self) -> None:
        while True:
            queued, done, failed = self._multi.info_read()
            for curl in done:
                self._resume(curl, 0, "")
            for curl, code, message in failed:
                self._resume(curl, code, message)
            if not queued:
                return

    def _resume(self, curl: pycurl.Curl, code: int, message: str) -> None:
        caller = self._parked.pop(curl)
        try:
            self._multi.remove_handle(curl)
        except pycurl.error:
            pass  # a broken multi handle (see abandon): its caller is told all the same
        caller.switch((code, message))

    def _drain_wakes(self) -> None:
        try:
            while self._wake_in.recv(4096):
                pass
        except BlockingIOError:
            pass

    # --- libcurl's callbacks ------------------------------------------------------------------
    def _watch(self, what: int, fd: int, multi: pycurl.CurlMulti, data: Any) -> None:
        # What is watched is kept here too: the selector's own map costs more to ask.
        watched = self._watching.get(fd)
        if what == pycurl.POLL_REMOVE:
            if watched is not None:
                del self._watching[fd]
                self._selector.unregister(fd)
            return
        wanted = _WANTS[what]
        if watched is None:
            self._selector.register(fd, wanted, fd)
        elif watched != wanted:
            self._selector.modify(fd, wanted, fd)
        self._watching[fd] = wanted

    def _set_timer(self, milliseconds: int) -> None:
        self._due = None if milliseconds < 0 else time.monotonic() + milliseconds / 1000


class LoopSession(PlatformSession):
    """PlatformSession whose requests are transfers on a CurlLoop: `post` must be called in a
    greenlet the loop spawned. Handles are kept for reuse; the connections belong to the loop's
    multi handle, so any request may reuse any connection to the same platform."""

    def __init__(self, loop: CurlLoop) -> None:
        super().__init__()
        self.loop = loop
        self._free: list[_Handle] = []

    def _take_handle(self) -> _Handle:
        return self._free.pop() if self._free else self._new_handle()

    def _give_back(self, handle: _Handle) -> None:
        self._free.append(handle)

    def _transfer(self, curl: pycurl.Curl) -> None:
        self.loop.transfer(curl)

    def close(self) -> None:
        self._free.clear()
        super().close()
