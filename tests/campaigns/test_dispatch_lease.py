"""Leases, claims, the sending fence, recovery and the tick's choice of accounts."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from campaigns.dispatch import accounts_to_wake, marker, sweep
from campaigns.dispatch.claim import claim, has_due_work, mark_sending
from campaigns.dispatch.lease import Lease
from campaigns.dispatch.outcomes import Job
from campaigns.dispatch.recovery import recover_account
from campaigns.models import Delivery, DispatchLease
from channels.models import ChannelAccount
from tests.factories import (
    CampaignFactory,
    ChannelAccountFactory,
    DeliveryFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db


def _rows(account, n: int, **fields) -> list[Delivery]:
    return [
        DeliveryFactory(subscription=SubscriptionFactory(account=account), **fields)
        for _ in range(n)
    ]


def _expire(account) -> None:
    DispatchLease.objects.filter(account=account).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )


# --- the lease --------------------------------------------------------------------------------


def test_it_gives_the_lease_to_one_owner_at_a_time():
    account = ChannelAccountFactory()
    a, b = Lease(account.pk, "a"), Lease(account.pk, "b")

    assert a.acquire()
    assert not b.acquire()
    a.release()
    assert b.acquire()


def test_it_lets_another_owner_take_over_an_expired_lease():
    account = ChannelAccountFactory()
    dead, alive = Lease(account.pk, "dead"), Lease(account.pk, "alive")
    dead.acquire()

    _expire(account)

    assert alive.acquire()
    assert not dead.extend()  # the old owner's heartbeat learns it lost the lease


def _queued_by(account, owner: str, n: int) -> list[int]:
    """`n` rows claimed by `owner`: queued for their slots."""
    _rows(account, n)
    return [d.pk for d in claim(account, owner=owner, limit=10, now=timezone.now())]


def test_it_never_starts_a_send_once_the_lease_is_lost():
    # given rows queued by an owner whose lease then expired and was taken over
    account = ChannelAccountFactory()
    Lease(account.pk, "dead").acquire()
    queued = _queued_by(account, "dead", 3)
    _expire(account)
    Lease(account.pk, "next").acquire()

    marked = mark_sending(queued, account_id=account.pk, owner="dead", now=timezone.now())

    assert marked == set()
    assert set(Delivery.objects.values_list("state", flat=True)) == {"queued"}


def test_an_expired_lease_nobody_took_still_lets_its_owner_send():
    # given an owner whose heartbeat could not reach the database for longer than the lease
    account = ChannelAccountFactory()
    Lease(account.pk, "me").acquire()
    queued = _queued_by(account, "me", 2)
    _expire(account)

    marked = mark_sending(queued, account_id=account.pk, owner="me", now=timezone.now())

    # then nobody can have recovered its rows (that takes the lease first): they may go
    assert marked == set(queued)
    assert set(Delivery.objects.values_list("state", flat=True)) == {"sending"}


def test_it_marks_only_rows_it_holds_queued():
    # a row another owner holds, or one already settled, never goes on the wire again
    account = ChannelAccountFactory()
    Lease(account.pk, "me").acquire()
    [mine, theirs, done] = _queued_by(account, "me", 3)
    Delivery.objects.filter(pk=theirs).update(claimed_by="other")
    Delivery.objects.filter(pk=done).update(state="skipped")

    marked = mark_sending(
        [mine, theirs, done], account_id=account.pk, owner="me", now=timezone.now()
    )

    assert marked == {mine}


# --- claiming ---------------------------------------------------------------------------------


def test_it_claims_due_rows_service_first_and_deferred_ones_once_due():
    account = ChannelAccountFactory()
    now = timezone.now()
    marketing = _rows(account, 2, due_at=now - timedelta(hours=1))
    service = _rows(account, 1, campaign=CampaignFactory(category="service"), due_at=now)
    deferred = _rows(account, 1, state="deferred", due_at=now - timedelta(minutes=1))
    _rows(account, 1, state="deferred", due_at=now + timedelta(hours=8))  # quiet hours
    _rows(account, 1, state="sent")

    rows = claim(account, owner="me", limit=10, now=now)

    assert [r.pk for r in rows] == [service[0].pk, marketing[0].pk, marketing[1].pk, deferred[0].pk]
    assert {r.claimed_by for r in Delivery.objects.filter(state="queued")} == {"me"}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_never_claims_a_row_twice_across_concurrent_claimers():
    # given 400 due rows and four claimers racing without a lease (SKIP LOCKED alone)
    account = ChannelAccountFactory()
    _rows(account, 400)
    claimed: dict[str, list[int]] = {}

    def claimer(owner: str) -> None:
        mine = claimed.setdefault(owner, [])
        try:
            while rows := claim(account, owner=owner, limit=7, now=timezone.now()):
                mine += [r.pk for r in rows]
        finally:
            connection.close()

    threads = [threading.Thread(target=claimer, args=(f"c{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    every = [pk for pks in claimed.values() for pk in pks]
    assert len(every) == len(set(every)) == 400


# --- recovery ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "in_flight_becomes"), [("telegram", "unknown"), ("vk", "pending")]
)
def test_it_recovers_what_a_dead_owner_left(kind, in_flight_becomes):
    account = ChannelAccountFactory(kind=kind)
    [claimed] = _rows(account, 1, state="claimed", claimed_by="dead")
    [queued] = _rows(account, 1, state="queued", claimed_by="dead")
    [sending] = _rows(account, 1, state="sending", claimed_by="dead", attempts=1)
    [sent] = _rows(account, 1, state="sent", claimed_by="dead")

    recovered = recover_account(account, owner="next")

    # rows that were only waiting for their pacing slot never left: due again
    assert Delivery.objects.get(pk=claimed.pk).state == "pending"
    assert Delivery.objects.get(pk=queued.pk).state == "pending"
    assert Delivery.objects.get(pk=sending.pk).state == in_flight_becomes
    assert Delivery.objects.get(pk=sent.pk).state == "sent"
    assert (recovered.pending, recovered.unknown + recovered.resent) == (2, 1)


def test_it_sweeps_only_accounts_whose_lease_expired():
    dead_account, live_account = ChannelAccountFactory(name="dead"), ChannelAccountFactory()
    Lease(dead_account.pk, "dead").acquire()
    Lease(live_account.pk, "alive").acquire()
    _expire(dead_account)
    [stuck] = _rows(dead_account, 1, state="claimed", claimed_by="dead")
    [busy] = _rows(live_account, 1, state="claimed", claimed_by="alive")

    done = sweep()

    assert list(done) == [dead_account.pk]
    assert Delivery.objects.get(pk=stuck.pk).state == "pending"
    assert Delivery.objects.get(pk=busy.pk).state == "claimed"
    assert DispatchLease.objects.get(account=dead_account).owner == ""


# --- the tick ---------------------------------------------------------------------------------


def test_it_wakes_only_accounts_with_due_work_and_nobody_dispatching():
    now = timezone.now()
    due, leased, paused, idle, disabled = (
        ChannelAccountFactory(name=name, enabled=name != "disabled")
        for name in ("due", "leased", "paused", "idle", "disabled")
    )
    for account in (due, leased, paused, disabled):
        _rows(account, 1)
    _rows(idle, 1, due_at=now + timedelta(minutes=5))
    Lease(leased.pk, "someone").acquire()
    ChannelAccount.objects.filter(pk=paused.pk).pause(30)

    assert accounts_to_wake(timezone.now()) == [due.pk]


def test_it_wakes_for_a_deferred_row_come_due_but_not_for_a_paused_campaigns_rows():
    # given one account whose only due row was deferred (and is due now), one whose only due
    # row is deferred to later, and one whose only due rows belong to a paused campaign
    now = timezone.now()
    deferred, later, paused = (ChannelAccountFactory(name=n) for n in ("due", "later", "paused"))
    _rows(deferred, 1, state="deferred", due_at=now - timedelta(minutes=1))
    _rows(later, 1, state="deferred", due_at=now + timedelta(minutes=5))
    _rows(paused, 2, campaign=CampaignFactory(status="paused"))

    # then the tick wakes the first only (each state is asked on its own in the claim index)
    assert accounts_to_wake(timezone.now()) == [deferred.pk]
    assert [has_due_work(a.pk, timezone.now()) for a in (deferred, later, paused)] == [
        True, False, False,
    ]  # fmt: skip


def test_it_wakes_an_account_whose_dead_dispatcher_left_rows_claimed_or_sending():
    # given rows left claimed / sending, nothing else due, under leases that expired (a worker
    # killed mid-batch) - one account paused by a 429 as well - and under a live lease
    dead_claimed, dead_sending, dead_paused, alive = (
        ChannelAccountFactory(name=name) for name in ("claimed", "sending", "paused", "alive")
    )
    _rows(dead_claimed, 1, state="claimed", claimed_by="dead")
    _rows(dead_sending, 1, state="sending", claimed_by="dead")
    _rows(dead_paused, 1, state="sending", claimed_by="dead")
    _rows(alive, 1, state="sending", claimed_by="alive")
    for account in (dead_claimed, dead_sending, dead_paused):
        Lease(account.pk, "dead").acquire()
        _expire(account)
    ChannelAccount.objects.filter(pk=dead_paused.pk).pause(60)
    Lease(alive.pk, "alive").acquire()

    # then the tick wakes the dead ones' accounts (their dispatcher recovers first), not the
    # one whose owner still heartbeats
    woken = accounts_to_wake(timezone.now())

    assert sorted(woken) == sorted([dead_claimed.pk, dead_sending.pk, dead_paused.pk])


def test_the_lease_reads_the_accounts_pause_at_acquire_and_at_each_heartbeat():
    # given an account paused by a 429 that a reply met
    account = ChannelAccountFactory()
    until = ChannelAccount.objects.filter(pk=account.pk).pause(5)
    lease = Lease(account.pk, "me")

    assert lease.acquire()
    assert lease.paused_until == until

    # when another sender pauses it for longer while we hold the lease
    later = ChannelAccount.objects.filter(pk=account.pk).pause(60)
    assert lease.extend()

    # then the heartbeat brings the new pause; a shorter one never shortens it
    assert lease.paused_until == later
    ChannelAccount.objects.filter(pk=account.pk).pause(1)
    assert ChannelAccount.objects.get(pk=account.pk).paused_until == later


def test_a_row_withdrawn_meanwhile_is_dropped_without_stopping_the_run():
    # given two queued rows, one cancelled by someone else (an erasure) before its slot came
    account = ChannelAccountFactory()
    Lease(account.pk, "me").acquire()
    _rows(account, 2)
    rows = claim(account, owner="me", limit=10, now=timezone.now())
    Delivery.objects.filter(pk=rows[1].pk).update(state="skipped", claimed_by="")
    jobs = [Job(row, None, None, "chat") for row in rows]

    answers = marker.mark(jobs, account_id=account.pk, owner="me")

    assert answers == {rows[0].pk: "", rows[1].pk: marker.WITHDRAWN}
    # and with only withdrawn rows, the lease still ours: not "lease lost" either
    assert marker.mark(jobs[1:], account_id=account.pk, owner="me") == {
        rows[1].pk: marker.WITHDRAWN
    }
    Lease(account.pk, "me").release()
    assert marker.mark(jobs[1:], account_id=account.pk, owner="me") == {
        rows[1].pk: marker.LEASE_LOST
    }
