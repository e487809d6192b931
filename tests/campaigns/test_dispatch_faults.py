"""Faults in real worker processes: a kill while rows wait for pacing, a warm shutdown.

A row is `sending` only from the moment its request may go on the wire; everything a dead
dispatcher had only claimed or queued for its slot goes back to due and is sent once.
"""

import os
import signal
import time
from collections import Counter

import pytest

from campaigns.models import Delivery, DispatchLease
from campaigns.tasks import dispatch_account
from tests.campaigns.test_dispatch import (
    FINAL,
    delivered_ids,
    dispatch_until_settled,
    make_deliveries,
    states,
)
from tests.workers import celery_beat, celery_worker, wait_for

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]


def _freeze_between_sends(worker, account) -> Counter:
    """SIGSTOP the worker at a moment no row of the account is `sending` (between two paced
    sends); returns the states then."""
    for _ in range(50):
        os.kill(worker.pid, signal.SIGSTOP)
        time.sleep(0.2)  # statements it had already sent finish in PostgreSQL
        now = states(account)
        if not now["sending"]:
            return now
        os.kill(worker.pid, signal.SIGCONT)
        time.sleep(0.05)
    raise AssertionError("always a row sending")


def test_a_worker_killed_while_rows_wait_for_pacing_leaves_them_pending_and_each_is_sent_once(
    account_on, fake_platform
):
    # given a slowly paced account (2/s) whose dispatcher has sent a few and has rows queued
    # for their slots, on its threads and in its ready queue
    account = account_on("telegram", rate_limit=2)
    deliveries = make_deliveries(account, 12)
    with celery_worker(concurrency=2) as worker:
        dispatch_account.delay(account.pk)
        wait_for(lambda: states(account)["sent"] >= 3, timeout=30)
        # when the worker is killed (between two sends: the paced threads are waiting)
        frozen = _freeze_between_sends(worker, account)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    assert frozen["queued"] > 0  # rows were waiting for their slots

    # then the next dispatcher finds them due again, none ambiguous, and sends each once
    dispatch_until_settled(account, timeout=60)
    assert states(account) == Counter({"sent": 12})
    assert delivered_ids(fake_platform, "telegram") == Counter({d.pk: 1 for d in deliveries})


def test_a_warm_shutdown_hands_the_lease_and_queued_rows_back_at_once(account_on, fake_platform):
    # given a worker dispatching a slowly paced account with many rows still to go
    account = account_on("telegram", rate_limit=2)
    deliveries = make_deliveries(account, 12)  # 2 a second: seconds of sends still to go
    with celery_worker(concurrency=2) as worker:
        dispatch_account.delay(account.pk)
        wait_for(lambda: states(account)["sent"] >= 2, timeout=30)
        held = DispatchLease.objects.get(account=account)
        assert held.owner

        # when the worker is told to stop (SIGTERM: Celery's warm shutdown)
        os.kill(worker.pid, signal.SIGTERM)
        stopped = time.monotonic()

        # then the lease is free within a second, long before the run's 20 s were up
        def lease_free() -> bool:
            return DispatchLease.objects.get(account=account).owner == ""

        wait_for(lease_free, timeout=1.0, interval=0.02)
        worker.wait(timeout=15)
        assert time.monotonic() - stopped < 5  # it exited, not killed after a grace time
    assert worker.returncode == 0
    # and nothing is left held: queued rows are due again, nothing is sending or unknown
    left = states(account)
    assert set(left) <= {"sent", "pending"}
    assert left["pending"] > 0

    # and another worker, woken by the tick, sends the rest, each once
    def settled() -> bool:
        return not Delivery.objects.filter(account=account).exclude(state__in=FINAL).exists()

    with celery_beat(), celery_worker():
        wait_for(settled, timeout=60)
    assert delivered_ids(fake_platform, "telegram") == Counter({d.pk: 1 for d in deliveries})
