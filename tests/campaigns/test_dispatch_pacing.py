"""The pacer and per-recipient spacing, on a fake clock (no real waiting, no timing)."""

from itertools import pairwise

import pytest

from campaigns.dispatch.pacing import OUTLIER_RUN, TOLERANCE, Pacer, RecipientSpacing


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


def _trips(pacer: Pacer, clock: FakeClock, *seconds: float) -> None:
    for trip in seconds:
        assert pacer.wait()
        pacer.sent(clock.now, clock.now + trip)


def test_it_gives_a_slot_back_for_a_send_that_came_back_late():
    # given round trips of 1-2 ms, then one of 80 ms (it may have arrived bunched)
    clock = FakeClock()
    pacer = Pacer(10, clock=clock, sleep=clock.sleep)
    _trips(pacer, clock, 0.001, 0.002, 0.001, 0.002)
    before = clock.now
    pacer.sent(clock.now - 0.08, clock.now)

    assert pacer.wait()

    assert round(clock.now - before, 6) == 0.2  # the next slot, and one more interval


def test_it_gives_back_a_slot_for_every_send_caught_in_a_stall():
    clock = FakeClock()
    pacer = Pacer(10, clock=clock, sleep=clock.sleep)
    _trips(pacer, clock, 0.001, 0.002, 0.001, 0.002)
    for _ in range(5):  # five sends held up together by one 90 ms stall
        pacer.sent(clock.now - 0.09, clock.now)
    before = clock.now

    assert pacer.wait()

    assert round(clock.now - before, 6) == 0.6  # the next slot, and five more intervals


def test_it_accepts_a_slower_route_as_the_new_normal():
    clock = FakeClock()
    pacer = Pacer(10, clock=clock, sleep=clock.sleep)
    _trips(pacer, clock, 0.001, 0.002, 0.001, 0.002)
    _trips(pacer, clock, *[0.2] * (OUTLIER_RUN + 1))  # every round trip 200 ms from now on
    before = clock.now

    _trips(pacer, clock, 0.2, 0.2)

    assert round(clock.now - before, 6) == 0.2  # two sends, no slot given back


def test_it_takes_ordinary_jitter_in_its_stride():
    # given a far platform: round trips of 60-140 ms
    clock = FakeClock()
    pacer = Pacer(10, clock=clock, sleep=clock.sleep)
    _trips(pacer, clock, *[0.06, 0.1, 0.14, 0.08, 0.12] * 4)
    before = clock.now

    _trips(pacer, clock, 0.14)

    assert round(clock.now - before, 6) == 0.1  # no slot given back


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
