"""Pacing one account's sends under its rate limit, shared by the dispatcher and its sender.

The platforms (and the fake server) count "at most N calls in any one-second window". Two
rules keep every such window at N or under, whatever the network and the hosts do:

1. Even slots. Sends leave at evenly spaced slots a little under the rate, with no saved-up
   burst after a lull (a token bucket with a burst of N would allow 2N in a window that
   straddles a refill). Slots are taken just in time, one thread at a time: a thread that wakes
   late pushes the following slots back instead of being followed by on-time sends, which would
   bunch up with it. A lateness up to TOLERANCE is absorbed, so the usual scheduler wake-up
   delay costs no throughput.

2. The window. Even slots cannot stop a stall (a frozen host, a queue in the network or at the
   platform) from making sends arrive together. So a send may start only while fewer than N
   sends are in flight or came back within the last WINDOW. That bounds every window of the
   platform's clock: a request arrives after it started and before its answer came back, so
   of any N+1 requests arriving within one second, the last one to start would have found the
   N others in flight or back within the second, and waited. On loopback the rule costs
   nothing (round trips are milliseconds, the slots leave 1% spare); a far platform pays its
   round trip: N per (1 s + round trip) at most.

A fresh pacer (each dispatch run has one) starts as if the previous run had been sending at
this rate until now, so a run that follows another straight away does not burst either. A 429
pauses every slot until the retry-after has passed.
"""

import heapq
import math
import threading
import time
from collections.abc import Callable

# Lateness a slot may have without moving the ones after it. Against a limit of N/s paced at
# DISPATCH_RATE_HEADROOM (1% under), N sends span 1.01 s: 5 ms of that margin is spent here.
TOLERANCE = 0.005
# The platform's second, and a little more: its clock and ours tick at slightly different
# rates and resolutions.
WINDOW = 1.005
# Waits shorter than this are not worth a sleep (a system call and a GIL hand-over): only an
# account paced at thousands a second has slots this close.
MIN_SLEEP = 0.0001


class Pacer:
    def __init__(
        self,
        rate: float,
        *,
        limit: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Slots at `rate` per second; with `limit`, never more than that in any second."""
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._clock, self._sleep = clock, sleep
        self._turn = threading.Lock()  # held by the one thread waiting for the next slot
        self._lock = threading.Lock()  # guards the pause and the window
        now = clock()
        # The first slot is one interval out: the previous run (maybe another process) may
        # have sent a moment ago.
        self._next = now + self.interval
        self._paused_until = 0.0
        self._stopped = False  # the run is ending: no slot is granted any more
        self._cap = max(1, int(limit)) if limit else 0  # 0: no window rule
        self._in_flight = 0
        # Times this run's sends came back within the last WINDOW (a heap: the oldest first).
        self._back: list[float] = []
        # And the previous run's, as if sends had been coming back at our rate until now: the
        # newest now, one interval apart. Counted, not listed: at a limit of thousands a second
        # a heap of them cost more to build and empty than the run's own slots (bench/dispatch).
        self._seeded_at = now
        self._seeded = min(self._cap, int(WINDOW / self.interval) if self.interval else self._cap)

    def wait(self) -> bool:
        """Block until this caller's slot; False if the account is paused (do not send)."""
        with self._turn:
            now = self._clock()
            if self._held(now):
                return False
            if self._next - now > MIN_SLEEP:
                self._sleep(self._next - now)
                now = self._clock()
                # A 429 (or the run's end) that came meanwhile stops this send.
                if self._held(now):
                    return False
            if self._cap and not self._window_wait():
                return False
            now = self._clock()
            late = now - self._next
            self._next = max(self._next, now - min(late, TOLERANCE)) + self.interval
            return True

    def _window_wait(self) -> bool:
        """Wait until fewer than `limit` sends are in flight or back within the WINDOW."""
        while True:
            with self._lock:
                now = self._clock()
                if self._in_flight + self._in_window(now) < self._cap:
                    self._in_flight += 1
                    return True
                # The oldest answer leaves the window then; with all in flight, poll.
                oldest = self._oldest(now)
                wake = oldest + WINDOW if oldest is not None else now + self.interval
            self._sleep(max(wake - now, MIN_SLEEP))
            if self._held(self._clock()):
                return False

    def take(self) -> bool:
        """A slot now, if one is due (never waits); False if not yet, paused or full.

        The dispatcher's main thread grants slots this way, so it can commit every row whose
        slot has come as `sending` in one statement, just before handing it to a thread.
        """
        with self._turn:
            now = self._clock()
            if self._held(now) or self._next - now > MIN_SLEEP:
                return False
            if self._cap:
                with self._lock:
                    if self._in_flight + self._in_window(now) >= self._cap:
                        return False
                    self._in_flight += 1
            late = now - self._next
            self._next = max(self._next, now - min(late, TOLERANCE)) + self.interval
            return True

    def due_in(self) -> float:
        """Seconds until `take` may grant a slot (0: now; a pause or a full window counts)."""
        now = self._clock()
        wait = max(self._next - now, self._paused_until - now, 0.0)
        if self._cap:
            with self._lock:
                if self._in_flight + self._in_window(now) >= self._cap:
                    # The oldest answer leaves the window then; with all in flight, poll.
                    oldest = self._oldest(now)
                    leaves = oldest + WINDOW - now if oldest is not None else self.interval
                    wait = max(wait, leaves, MIN_SLEEP)
        return wait

    def _in_window(self, now: float) -> int:
        """Answers back within the WINDOW before `now`, the seeded ones included (under _lock)."""
        while self._back and self._back[0] <= now - WINDOW:
            heapq.heappop(self._back)
        return self._seeded_in_window(now) + len(self._back)

    def _seeded_in_window(self, now: float) -> int:
        # The k-th seeded answer (0: the newest) came back at seeded_at - k * interval, and is
        # in the window while that is after now - WINDOW.
        if not self._seeded:
            return 0
        if not self.interval:
            if self._seeded_at <= now - WINDOW:
                self._seeded = 0
            return self._seeded
        since, at, step = now - WINDOW, self._seeded_at, self.interval
        count = max(0, min(self._seeded, math.ceil((at - since) / step)))
        # The division may round across a boundary: settle it on the answers' own times.
        if count and at - (count - 1) * step <= since:
            count -= 1
        elif count < self._seeded and at - count * step > since:
            count += 1
        if not count:
            self._seeded = 0  # all gone by: they never come back into the window
        return count

    def _oldest(self, now: float) -> float | None:
        """When the oldest answer in the window came back (the seeded ones are all older than
        this run's own); None if none is."""
        seeded = self._seeded_in_window(now)
        if seeded:
            return self._seeded_at - (seeded - 1) * self.interval
        return self._back[0] if self._back else None

    def _held(self, now: float) -> bool:
        return self._stopped or now < self._paused_until

    def cancel(self) -> None:
        """A slot granted by `wait` was not used: the send never started."""
        if self._cap:
            with self._lock:
                self._in_flight = max(0, self._in_flight - 1)

    def stop(self) -> None:
        """Grant no more slots (threads waiting for one get False)."""
        self._stopped = True

    def sent(self, started: float, finished: float) -> None:
        """A send that left at `started` came back at `finished` (either way)."""
        if not self._cap:
            return
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)
            heapq.heappush(self._back, finished)

    def pause(self, seconds: float) -> None:
        """No slot is granted for `seconds` from now (a longer pause already set wins)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)
        # Read without the turn lock (a thread may be sleeping with it): the next slot is
        # moved past the pause by whichever thread takes a turn after it.

    def paused_for(self) -> float:
        """Seconds left of the current pause (0 if none)."""
        return max(0.0, self._paused_until - self._clock())


class RecipientSpacing:
    """Keeps sends to one recipient `interval` apart (Telegram 1 s per chat, WhatsApp ~6 s).

    Used by the dispatcher's main thread only: a recipient is busy from submit until its send
    has finished plus the interval.
    """

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self._clock = clock
        self._busy_until: dict[str, float] = {}

    def ready_in(self, recipient: str) -> float:
        """Seconds until `recipient` may get another message (0 = now)."""
        if not self.interval:
            return 0.0
        return max(0.0, self._busy_until.get(recipient, 0.0) - self._clock())

    def start(self, recipient: str) -> None:
        if self.interval:
            self._busy_until[recipient] = float("inf")

    def seed(self, recipient: str, seconds_ago: float) -> None:
        """`recipient` got a message `seconds_ago` (an earlier run's): no sooner than the
        interval after it. What this run knows of the recipient wins."""
        if self.interval and recipient not in self._busy_until:
            self._busy_until[recipient] = self._clock() - seconds_ago + self.interval

    def done(self, recipient: str, sent_at: float | None) -> None:
        """The send finished (`sent_at` monotonic, None if it never left)."""
        if not self.interval:
            return
        if sent_at is None:
            self._busy_until.pop(recipient, None)
        else:
            self._busy_until[recipient] = sent_at + self.interval
