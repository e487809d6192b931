"""A group of sends handed over together (campaigns/dispatch/outcomes.py Departures): the
dispatcher's main thread waits until every one of them has started, or a moment at most."""

import threading

from campaigns.dispatch.outcomes import Departures


def test_the_wait_ends_once_every_send_of_the_group_has_started():
    departures = Departures(3)
    started = threading.Barrier(3)

    def send():
        started.wait()
        departures.one_left()

    threads = [threading.Thread(target=send) for _ in range(3)]
    for thread in threads:
        thread.start()

    assert departures.wait(5.0)
    for thread in threads:
        thread.join()


def test_the_wait_gives_up_while_one_has_not_started():
    departures = Departures(2)
    departures.one_left()

    assert not departures.wait(0.01)


def test_an_empty_group_has_nothing_to_wait_for():
    assert Departures(0).wait(0)
