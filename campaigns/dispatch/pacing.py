"""Pacing one account's sends under its rate limit, shared by the sending threads.

The platforms (and the fake server) count "at most N calls in any one-second window", so a
classic token bucket with a burst of N would allow 2N in a window that straddles a refill.
Here sends leave at evenly spaced slots at the rate, with no saved-up burst after a lull.

Slots are taken just in time, one thread at a time: a thread that wakes late (GIL, a busy
host) pushes the following slots back instead of being followed by on-time sends, which
would bunch up with it. A lateness up to TOLERANCE is absorbed, so the usual scheduler
wake-up delay costs no throughput. A 429 pauses every slot until the retry-after has passed.

A send can also stall after its slot (the host froze, the network queued it): it then reaches
the platform late, together with the sends after it, and a second later the platform counts
one too many. So a send whose round trip is an outlier gives a slot back: the next slot moves
one interval out. Outlier as TCP judges retransmission timeouts (RFC 6298): slower than the
smoothed round trip plus four times its variation, and at least LATE slower, so ordinary
network jitter costs no throughput. Outliers do not move the estimate (every send caught in a
stall gives its slot back) until OUTLIER_RUN come in a row: that is a slower route, not a stall.
"""

import threading
import time
from collections.abc import Callable

# Lateness a slot may have without moving the ones after it. Against a limit of N/s paced at
# DISPATCH_RATE_HEADROOM (3% under), N sends span 1.03 s: 5 ms of that 30 ms margin is spent
# here, the rest is left for the network and the platform's clock.
TOLERANCE = 0.005
# A round trip at least this much slower than usual may have arrived bunched: what the
# headroom does not cover once TOLERANCE is spent.
LATE = 0.025
OUTLIER_RUN = 64
# Waits shorter than this are not worth a sleep (a system call and a GIL hand-over): only an
# account paced at thousands a second has slots this close.
MIN_SLEEP = 0.0001


class Pacer:
    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._clock, self._sleep = clock, sleep
        self._turn = threading.Lock()  # held by the one thread waiting for the next slot
        self._lock = threading.Lock()  # guards the pause and the round-trip estimate
        # The first slot is one interval out: the previous run (maybe another process) may
        # have sent a moment ago.
        self._next = clock() + self.interval
        self._paused_until = 0.0
        self._srtt: float | None = None  # smoothed round trip
        self._rttvar = 0.0  # its mean deviation
        self._outliers = 0  # late sends in a row
        self._owed = 0  # slots given back by late sends

    def wait(self) -> bool:
        """Block until this caller's slot; False if the account is paused (do not send)."""
        with self._turn:
            now = self._clock()
            if now < self._paused_until:
                return False
            with self._lock:
                self._next += self._owed * self.interval
                self._owed = 0
            if self._next - now > MIN_SLEEP:
                self._sleep(self._next - now)
                now = self._clock()
                # A 429 that arrived meanwhile stops this send: nothing leaves during a pause.
                if now < self._paused_until:
                    return False
            late = now - self._next
            self._next = max(self._next, now - min(late, TOLERANCE)) + self.interval
            return True

    def sent(self, started: float, finished: float) -> None:
        """A send that left at `started` came back at `finished` (either way)."""
        trip = finished - started
        with self._lock:
            if self._srtt is None:  # the first: no baseline yet, and often a new connection
                self._srtt, self._rttvar = trip, trip / 2
                self._owed += trip > LATE
                return
            if trip > self._srtt + max(LATE, 4 * self._rttvar):
                self._owed += 1
                self._outliers += 1
                if self._outliers >= OUTLIER_RUN:  # the new normal
                    self._srtt, self._rttvar, self._outliers = trip, trip / 2, 0
                return
            self._outliers = 0
            self._rttvar += (abs(self._srtt - trip) - self._rttvar) / 4
            self._srtt += (trip - self._srtt) / 8

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

    def done(self, recipient: str, sent_at: float | None) -> None:
        """The send finished (`sent_at` monotonic, None if it never left)."""
        if not self.interval:
            return
        if sent_at is None:
            self._busy_until.pop(recipient, None)
        else:
            self._busy_until[recipient] = sent_at + self.interval
