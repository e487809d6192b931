"""The pacer and per-recipient spacing, on a fake clock (no real waiting, no timing)."""

from itertools import pairwise

import pytest

from campaigns.dispatch.pacing import TOLERANCE, WINDOW, Pacer, RecipientSpacing


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def _sends(pacer: Pacer, clock: FakeClock, n: int) -> list[float]:
    """Times (since the clock started) at which `n` sends in a row would leave."""
    times = []
    for _ in range(n):
        assert pacer.wait()
        times.append(round(clock.now - 1000.0, 6))
    return times


def _gaps(times: list[float]) -> list[float]:
    return [round(b - a, 6) for a, b in pairwise(times)]


def test_it_spaces_slots_evenly_at_the_rate_starting_one_interval_out():
    clock = FakeClock()
    pacer = Pacer(10, clock=clock, sleep=clock.sleep)

    assert _sends(pacer, clock, 4) == [0.1, 0.2, 0.3, 0.4]


def test_it_saves_up_no_burst_during_a_lull():
    # a platform counting "N per any 1 s window" would refuse a saved-up burst
    clock = FakeClock()
    pacer = Pacer(10, clock=clock, sleep=clock.sleep)
    _sends(pacer, clock, 1)

    clock.now += 5  # idle

    assert all(gap >= 0.1 - TOLERANCE for gap in _gaps(_sends(pacer, clock, 5)))


def test_it_pushes_the_next_slots_back_after_a_late_wake_up():
    # given a host so busy that every sleep overruns by 20 ms
    clock = FakeClock()

    def oversleep(seconds: float) -> None:
        clock.sleep(seconds + 0.02)

    pacer = Pacer(10, clock=clock, sleep=oversleep)

    # then no send follows a late one by less than the interval (no bunching)
    assert min(_gaps(_sends(pacer, clock, 6))) >= 0.1


class Platform:
    """Sends in flight on the fake clock: each comes back `trip(n)` seconds after it left.

    Its sleep delivers the answers that fall due meanwhile, as the sending threads would.
    """

    def __init__(self, clock: FakeClock, trip) -> None:
        self.clock, self.trip = clock, trip
        self.pacer: Pacer | None = None
        self.flights: list[tuple[float, float]] = []  # (left, came back)
        self._due: list[float] = []

    def sleep(self, seconds: float) -> None:
        until = self.clock.now + seconds
        for back in sorted(t for t in self._due if t <= until):
            self.clock.now = max(self.clock.now, back)
            self._due.remove(back)
            self.pacer.sent(back, back)
        self.clock.now = until

    def send(self, n: int) -> None:
        assert self.pacer.wait()
        left = self.clock.now
        back = left + self.trip(n)
        self.flights.append((left, back))
        self._due.append(back)

    def most_in_any_second(self) -> int:
        """The most requests that may have arrived within one second, wherever in its flight
        each arrived: those whose flight overlaps the window."""
        starts = [left for left, _ in self.flights]
        return max(
            sum(1 for left, back in self.flights if left < t + 1.0 and back >= t) for t in starts
        )


def paced(trip, *, limit: int | None = 10) -> tuple[FakeClock, Platform]:
    """A platform answering in `trip(n)`, sent to by a pacer at 9.7/s (never over `limit`)."""
    clock = FakeClock()
    platform = Platform(clock, trip)
    platform.pacer = Pacer(9.7, limit=limit, clock=clock, sleep=platform.sleep)
    return clock, platform


def test_it_keeps_every_second_within_the_limit_when_answers_stall():
    # given a platform that answers in 2 ms, except that every 25th answer takes 0.6 s
    clock, platform = paced(lambda n: 0.6 if n % 25 == 0 else 0.002)

    for n in range(300):
        platform.send(n)

    # then no second may have seen more than 10, and the stalls cost little throughput
    assert platform.most_in_any_second() <= 10
    assert clock.now - 1000.0 < 300 / 9.7 * 1.1


def test_it_would_let_a_stall_overfill_a_second_without_the_limit():
    # the same platform and slots, no window rule: what the rule is for
    _, platform = paced(lambda n: 0.6 if n % 25 == 0 else 0.002, limit=None)

    for n in range(300):
        platform.send(n)

    assert platform.most_in_any_second() > 10


def test_it_costs_nothing_when_answers_are_quick():
    clock, platform = paced(lambda n: 0.002)

    for n in range(100):
        platform.send(n)

    assert clock.now - 1000.0 == pytest.approx(100 / 9.7, abs=0.01)


def test_a_run_that_follows_another_at_once_does_not_burst():
    # given a run that sent for a while and ended; the next run's pacer starts right away
    clock, platform = paced(lambda n: 0.002)
    for n in range(30):
        platform.send(n)
    platform.sleep(0.01)
    platform.pacer = Pacer(9.7, limit=10, clock=clock, sleep=platform.sleep)

    for n in range(30):
        platform.send(n)

    assert platform.most_in_any_second() <= 10


def test_it_grants_no_slot_during_a_pause_and_resumes_after_it():
    clock = FakeClock()
    pacer = Pacer(10, clock=clock, sleep=clock.sleep)
    pacer.pause(2.0)

    assert not pacer.wait()
    assert pacer.paused_for() == pytest.approx(2.0)
    clock.now += 2.0
    assert pacer.wait()


def test_it_refuses_a_slot_when_a_pause_began_while_waiting_for_it():
    clock = FakeClock()

    def sleep(seconds: float) -> None:
        pacer.pause(5.0)  # another thread's send met a 429 while this one waited
        clock.sleep(seconds)

    pacer = Pacer(1, clock=clock, sleep=sleep)

    assert not pacer.wait()


def test_it_keeps_one_recipient_waiting_for_the_interval_after_its_send():
    clock = FakeClock()
    spacing = RecipientSpacing(6.0, clock=clock)

    spacing.start("a")
    assert spacing.ready_in("a") == float("inf")  # in flight
    assert spacing.ready_in("b") == 0.0
    spacing.done("a", sent_at=clock.now)
    clock.now += 2
    assert spacing.ready_in("a") == pytest.approx(4.0)
    spacing.done("b", sent_at=None)  # never left: no wait
    assert spacing.ready_in("b") == 0.0


def test_a_send_of_an_earlier_run_holds_the_recipient_for_the_rest_of_the_interval():
    clock = FakeClock()
    spacing = RecipientSpacing(6.0, clock=clock)

    spacing.seed("a", seconds_ago=2.0)  # read from the database: sent 2 s ago
    spacing.start("b")
    spacing.seed("b", seconds_ago=100.0)  # this run's own state wins

    assert spacing.ready_in("a") == pytest.approx(4.0)
    assert spacing.ready_in("b") == float("inf")


@pytest.mark.parametrize(("rate", "limit"), [(9.7, 10), (990.0, 1000), (4950.0, 5000), (0, 5)])
def test_the_previous_runs_answers_are_counted_as_if_listed_one_interval_apart(rate, limit):
    # given a fresh pacer: the previous run's answers are counted, not kept one by one
    clock = FakeClock()
    pacer = Pacer(rate, limit=limit, clock=clock, sleep=clock.sleep)
    interval = 1.0 / rate if rate else 0.0
    seeded = min(limit, int(WINDOW / interval) if interval else limit)
    listed = [1000.0 - k * interval for k in range(seeded)]  # the newest now, one interval apart

    # then at every moment of the next second and a half, as many are in the window as if
    # listed, and the oldest of them is the listed oldest
    for step in range(0, 1510, 7):
        now = 1000.0 + step / 1000
        inside = [t for t in listed if t > now - WINDOW]
        assert pacer._in_window(now) == len(inside), now
        assert pacer._oldest(now) == (pytest.approx(min(inside)) if inside else None), now
