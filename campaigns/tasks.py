"""Campaign tasks: thin, by id, each calls one service.

Dispatch tasks come first (campaigns/dispatch/). Other campaign tasks (materialization,
triggers, surveys, ...) are added BELOW the "--- campaign engine" marker, not above it.
"""

import logging
import threading
from functools import partial

from celery import shared_task
from celery.signals import worker_ready, worker_shutting_down
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from campaigns import dispatch
from campaigns.dispatch import lanes
from config.wakeups import woken

log = logging.getLogger(__name__)
ORDER_EVENT_TASK = "campaigns.order_event_received"  # sent by name from subscriptions/api

# --- dispatch ---------------------------------------------------------------------------------


@worker_shutting_down.connect
def _hand_back_leases(**_: object) -> None:
    # In the worker's own process (the threads pool), where the dispatch runs are.
    dispatch.shutdown.request()


@worker_ready.connect
def _announce_bulk_lane(sender: object, **_: object) -> None:
    # Only the worker consuming the bulk queue (the Procfile's `bulk`): the main lane hands
    # campaigns over only while one is alive (campaigns/dispatch/lanes.py).
    from config.celery import app

    queue = lanes.bulk_queue()
    if queue and queue in app.amqp.queues.consume_from:
        stop = threading.Event()
        worker_shutting_down.connect(lambda **_: stop.set(), weak=False)
        threading.Thread(
            target=lanes.announce_forever, args=(stop,), name="bulk-lane", daemon=True
        ).start()


WAKE_EXPIRES_SECONDS = 30.0


def _enqueue(account_id: int, lane: str = lanes.MAIN) -> None:
    # A wake that waits too long is stale (the tick has re-sent it by then): the worker drops
    # it instead of starting a run for nothing. But not before WAKE_EXPIRES_SECONDS: a worker
    # whose consumer lagged 10 s (seen: messages taken in 10-s bursts) dropped every wake its
    # own ticks sent, each arriving just past a 10-s expiry, and sent nothing until the lag
    # ended. A stale wake costs a short run that finds the lease held or nothing due; and a
    # chained run (time up, more due) has no tick behind it when beat is down.
    expires = max(settings.DISPATCH_TICK_SECONDS * 5, WAKE_EXPIRES_SECONDS)
    queue = lanes.bulk_queue() if lane == lanes.BULK else None  # None: the default queue
    dispatch_account.apply_async((account_id, lane), expires=expires, queue=queue)


def dispatch_wake(account_id: int) -> None:
    """Start the account's dispatcher now, once the current transaction commits.

    For new due rows that should not wait for the next tick (a zero-delay trigger). Harmless
    when a dispatcher already runs: it finds the lease held and exits, and the running one sees
    the rows at its next claim (or re-checks after releasing the lease).
    """
    # robust: a broker outage must not fail the caller's request after its data is committed;
    # the tick finds the rows once the broker is back.
    transaction.on_commit(partial(_enqueue, account_id), robust=True)


@shared_task(name="campaigns.dispatch_tick", ignore_result=True)
def dispatch_tick() -> int:
    """Beat, every DISPATCH_TICK_SECONDS: wake each account with due work and no dispatcher."""
    accounts = dispatch.accounts_to_wake(timezone.now())
    for account_id in accounts:
        _enqueue(account_id)
    return len(accounts)


# acks_late: a worker lost mid-run gets the task redelivered, and the lease makes a second run
# of the same account a no-op while the first one lives.
@shared_task(name="campaigns.dispatch_account", acks_late=True, ignore_result=True)
def dispatch_account(account_id: int, lane: str = lanes.MAIN) -> None:
    """Send the account's due deliveries for up to DISPATCH_RUN_SECONDS, in `lane`."""
    stats = dispatch.run_account(account_id, lane=lane)
    if stats is None:
        return
    if stats.stopped == "time up":
        # More is due: queue the next run now rather than idle until the next tick (a gap
        # every run would cost a few percent of the account's rate). Behind other queued
        # tasks, so a busy account does not keep a worker from the others.
        _enqueue(account_id, lane)
    elif stats.stopped == lanes.TO_BULK:
        _enqueue(account_id, lanes.BULK)
    elif stats.stopped == lanes.TO_MAIN:
        _enqueue(account_id, lanes.MAIN)


@shared_task(name="campaigns.dispatch_sweep", ignore_result=True)
def dispatch_sweep() -> None:
    """Recover rows stuck under expired leases on accounts nobody is dispatching."""
    for account_id, recovered in dispatch.sweep().items():
        log.warning("sweep recovered account %s: %s", account_id, recovered)


# --- campaign engine --------------------------------------------------------------------------
# Services are imported inside each task: the engine's modules import dispatch_wake from here.


@shared_task(name=ORDER_EVENT_TASK, ignore_result=True)
def order_event_received(order_event_id: int) -> None:
    """Sent by the order events API on commit (once per burst: config/wakeups.py): fire the
    triggers of every order event stored and not fired yet, this one included."""
    from campaigns.triggers import order_events_drain

    woken(ORDER_EVENT_TASK)
    order_events_drain(now=timezone.now())


@shared_task(name="campaigns.materialize_tick", ignore_result=True)
def materialize_tick() -> int:
    """Beat, every MATERIALIZE_TICK_SECONDS: due campaigns -> delivery rows; lost events."""
    from campaigns.services import materialize_tick as tick

    return tick()


@shared_task(name="campaigns.survey_alerts", ignore_result=True)
def survey_alerts() -> int:
    """Beat, every minute: e-mail the shop about low survey scores (each once)."""
    from campaigns.surveys import survey_alerts_send

    return survey_alerts_send()


@shared_task(name="campaigns.programme_snapshot", ignore_result=True)
def programme_snapshot() -> None:
    """Beat, every PROGRAMME_SNAPSHOT_SECONDS: recompute the programme dashboard's default
    period, so the page never computes it while a marketer waits."""
    from campaigns.stats_snapshot import programme_snapshot_refresh

    programme_snapshot_refresh()


@shared_task(name="campaigns.stats_snapshots", ignore_result=True)
def stats_snapshots() -> int:
    """Beat, every STATS_SNAPSHOT_SECONDS: recompute the figures of campaigns still moving."""
    from campaigns.stats_snapshot import stats_snapshots_refresh

    return stats_snapshots_refresh()
