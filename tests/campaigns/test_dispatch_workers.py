"""The dispatcher in real worker processes: concurrent dispatchers, and kill -9 mid-batch.

The promise under test (DESIGN.md): zero duplicates, every delivery in a final state after
recovery, and `unknown` bounded by what was in flight when the worker died.
"""

import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from campaigns.models import Delivery
from campaigns.tasks import dispatch_account, dispatch_tick, dispatch_wake
from tests.campaigns.test_dispatch import (
    FINAL,
    delivered_ids,
    dispatch_until_settled,
    make_deliveries,
    states,
)
from tests.workers import ROOT, celery_beat, celery_worker, wait_for, worker_env

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]


def _dispatcher_process(account_id: int) -> subprocess.Popen:
    """A second, independent process dispatching the account until nothing is left."""
    code = (
        "from campaigns.dispatch import run_account\n"
        f"while run_account({account_id}).stopped != 'nothing due': pass\n"
    )
    return subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT, env=worker_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


def test_it_never_sends_a_delivery_twice_across_worker_processes(account_on, fake_platform):
    # given 150 deliveries, a Celery worker running two dispatch tasks plus the tick's, and an
    # independent process dispatching the same account at the same time
    account = account_on("telegram", rate_limit=100)
    deliveries = make_deliveries(account, 150)

    with celery_worker(concurrency=3):
        other = _dispatcher_process(account.pk)
        dispatch_account.delay(account.pk)
        dispatch_account.delay(account.pk)
        dispatch_tick()
        wait_for(lambda: states(account)["sent"] == 150, timeout=90)
        _, errors = other.communicate(timeout=60)

    # then the platform got each delivery exactly once
    assert other.returncode == 0, errors.decode()[-2000:]
    assert delivered_ids(fake_platform, "telegram") == Counter({d.pk: 1 for d in deliveries})
    senders = set(Delivery.objects.filter(account=account).values_list("claimed_by", flat=True))
    assert senders  # recorded who sent each one


def test_it_sends_a_woken_account_to_the_end_in_chained_runs(account_on, fake_platform):
    # given 80 deliveries at 40/s and runs of one second, with no beat to re-wake anything
    account = account_on("telegram", rate_limit=40)
    deliveries = make_deliveries(account, 80)

    with celery_worker(DISPATCH_RUN_SECONDS="1"):
        dispatch_wake(account.pk)  # what the trigger engine calls after writing rows
        wait_for(lambda: states(account)["sent"] == 80, timeout=60)

    # then each run queued the next until all were sent, each exactly once
    assert delivered_ids(fake_platform, "telegram") == Counter({d.pk: 1 for d in deliveries})


def _kill_mid_batch(kind: str, fake_platform, account, lease: str = "2") -> tuple[int, float]:
    """Kill -9 a worker whose sends hang at the platform; returns the rows `sending` then and
    the (monotonic) time of the kill."""
    fake_platform.slow(30.0)  # every answer held back: requests are in flight
    with celery_worker(DISPATCH_LEASE_SECONDS=lease) as worker:
        dispatch_account.delay(account.pk)
        wait_for(lambda: len(fake_platform.requests_for(kind)) >= 10, timeout=30)
        os.kill(worker.pid, signal.SIGSTOP)  # freeze it to count what it had in flight
        time.sleep(0.5)  # statements it had already sent finish in PostgreSQL
        in_flight = Delivery.objects.filter(account=account, state="sending").count()
        killed_at = time.monotonic()
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    fake_platform.slow(0, count=0)  # the platform recovers too
    return in_flight, killed_at


def test_it_recovers_from_a_worker_killed_mid_batch_without_duplicates(account_on, fake_platform):
    # given a worker killed with 60 deliveries claimed and requests in flight
    account = account_on("telegram")
    deliveries = make_deliveries(account, 60)
    in_flight, _ = _kill_mid_batch("telegram", fake_platform, account)

    # when the next dispatcher takes over the expired lease
    dispatch_until_settled(account)

    # then every delivery is final, none reached the platform twice, and only the rows in
    # flight at the crash are ambiguous
    counts = states(account)
    assert set(counts) <= set(FINAL)
    assert counts["sent"] + counts["unknown"] == 60
    # a row marked sending whose request had not begun when it froze (the journal has no note
    # of it) is sent again, not left unknown
    assert 0 < counts["unknown"] <= in_flight
    delivered = delivered_ids(fake_platform, "telegram")
    assert max(delivered.values()) == 1
    unknown = Delivery.objects.filter(account=account, state="unknown").values_list("pk", flat=True)
    assert {d.pk for d in deliveries} - set(unknown) <= set(delivered)  # every sent one arrived
    assert set(unknown) <= set(delivered)  # and every unknown one did leave (journal.py)


def test_beat_recovers_and_resends_a_killed_workers_claims_within_30_seconds(
    account_on, fake_platform
):
    # given a worker killed mid-batch under the production lease (3 s) with every row it had
    # not finished either queued for its slot or in flight: nothing is left pending, so the
    # tick's "due work" alone would never wake the account (10/s: ten in flight, ten queued)
    account = account_on("telegram", rate_limit=10)
    deliveries = make_deliveries(account, 20)
    in_flight, killed_at = _kill_mid_batch("telegram", fake_platform, account, lease="3")
    assert set(states(account)) == {"queued", "sending"}

    # when beat runs its schedule - the sweep pushed out of reach, so only the dispatch tick
    # can bring the rows back - and a new worker takes the tasks
    def settled() -> bool:
        return not Delivery.objects.filter(account=account).exclude(state__in=FINAL).exists()

    with celery_beat(DISPATCH_SWEEP_SECONDS="3600"), celery_worker():
        # then within 30 s of the kill every row is recovered and the never-sent ones sent
        wait_for(settled, timeout=30 - (time.monotonic() - killed_at))

    # and nothing reached the platform twice; only the rows in flight at the kill are unknown
    counts = states(account)
    assert counts["sent"] + counts["unknown"] == 20
    assert 0 < counts["unknown"] == in_flight < 20
    delivered = delivered_ids(fake_platform, "telegram")
    assert max(delivered.values()) == 1
    sent = Delivery.objects.filter(account=account, state="sent").values_list("pk", flat=True)
    assert set(sent) <= set(delivered) <= {d.pk for d in deliveries}


def test_it_resends_in_flight_vk_messages_idempotently_after_a_kill(account_on, fake_platform):
    # given a VK worker killed with requests in flight (random_id = the delivery's key)
    account = account_on("vk")
    deliveries = make_deliveries(account, 40)
    in_flight, _ = _kill_mid_batch("vk", fake_platform, account)

    dispatch_until_settled(account)

    # then the in-flight rows were sent again, VK deduplicated them: one message each
    assert in_flight > 0
    assert states(account) == Counter({"sent": 40})
    assert delivered_ids(fake_platform, "vk") == Counter({d.pk: 1 for d in deliveries})
    assert fake_platform.stats()["deduplicated"] <= in_flight
