"""Two lanes for dispatch runs, so a big campaign cannot starve triggered messages of CPU.

On one box the API, the order-event triggers and a million-row campaign share two cores. With
DISPATCH_BULK_QUEUE set, a run in the main lane that claims a full batch of marketing rows (a
campaign's backlog, nothing of service or surveys among them) hands the account to that queue,
whose worker runs under `nice` (the Procfile's `bulk`): the kernel then gives the web processes
and the main worker the CPU first, and the campaign what is left. A bulk run that claims a
service or survey row hands the account back. One lease per account still holds: a hand-over
is a run ending and the next one starting in the other lane.

A bulk worker announces itself in Redis every few seconds; with none alive (not deployed, or
down) the main lane keeps the campaign, so a missing process slows nothing down and loses
nothing.
"""

import logging
import threading
from collections.abc import Sequence

import redis
from django.conf import settings

from campaigns.models import Campaign, Delivery
from config.wakeups import redis_client

log = logging.getLogger(__name__)
MAIN, BULK = "main", "bulk"
TO_BULK, TO_MAIN = "to the bulk lane", "to the main lane"
MARKETING = Campaign.Category.MARKETING
ANNOUNCE_EVERY = 5.0  # seconds between a bulk worker's announcements
ALIVE_FOR = 15  # seconds an announcement counts


def bulk_queue() -> str:
    return settings.DISPATCH_BULK_QUEUE


def hand_over(lane: str, rows: Sequence[Delivery], batch: int) -> str:
    """Why a run in `lane` that claimed `rows` should hand its account to the other lane, or ""."""
    if not bulk_queue() or not rows:
        return ""
    marketing = all(row.campaign.category == MARKETING for row in rows)
    if lane == MAIN and marketing and len(rows) >= batch and bulk_worker_alive():
        return TO_BULK
    if lane == BULK and not marketing:
        return TO_MAIN
    return ""


def bulk_worker_alive() -> bool:
    client = redis_client()
    if client is None:
        return False
    try:
        return bool(client.exists(_key()))
    except redis.RedisError:  # Redis down: the campaign stays in the main lane
        return False


def announce() -> None:
    """Tell the main lane a bulk worker is alive, for the next ALIVE_FOR seconds."""
    client = redis_client()
    try:
        if client is not None:
            client.set(_key(), 1, ex=ALIVE_FOR)
    except redis.RedisError as error:  # the main lane keeps campaigns meanwhile
        log.warning("bulk lane: cannot announce in Redis: %s", error)


def announce_forever(stop: threading.Event) -> None:
    """The bulk worker's announcements, until `stop` (on a thread of its own)."""
    while not stop.is_set():
        announce()
        stop.wait(ANNOUNCE_EVERY)


def _key() -> str:
    return f"comeback:bulk-lane:{bulk_queue()}"
