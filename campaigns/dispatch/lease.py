"""One dispatcher per channel account: a lease row with owner and expiry, kept by heartbeats.

One owner per account makes the account's rate limit global without a shared counter; the
expiry (seconds, not hours) lets another worker take over after a crash. Times are the app
servers' clocks (kept in sync by NTP); the lease is long compared with any sane skew.

The heartbeat runs on a thread of its own (`keep`), so a main thread busy with a big batch or
waiting out a database outage never lets a live lease lapse, and the lease can be short: a
dead dispatcher's account is free DISPATCH_LEASE_SECONDS after its last beat.
"""

import logging
import os
import socket
import threading
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from campaigns.dispatch.db_retry import GaveUp, with_db_retry
from campaigns.models import DispatchLease
from channels.models import ChannelAccount

log = logging.getLogger(__name__)


def new_owner(prefix: str = "") -> str:
    """A unique owner id that also says where the owner runs (for admins reading claimed_by)."""
    return f"{prefix}{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


class Lease:
    def __init__(self, account_id: int, owner: str, ttl: float | None = None) -> None:
        self.account_id = account_id
        self.owner = owner
        self.ttl = timedelta(seconds=settings.DISPATCH_LEASE_SECONDS if ttl is None else ttl)
        # The account's pause (ChannelAccount.paused_until), as of acquire and each heartbeat.
        self.paused_until: datetime | None = None
        self.lost = threading.Event()  # set by the heartbeat when the lease is no longer ours
        self._stop_beating = threading.Event()
        self._heart: threading.Thread | None = None

    def acquire(self) -> bool:
        """Take the lease if it is free or expired (a conditional UPDATE; INSERT the first time)."""
        now = timezone.now()
        free = Q(owner="") | Q(expires_at__isnull=True) | Q(expires_at__lt=now)
        rows = DispatchLease.objects.filter(free, account_id=self.account_id)
        taken = rows.update(owner=self.owner, expires_at=now + self.ttl)
        if not taken:
            # ON CONFLICT DO NOTHING: of two first-timers, exactly one row wins.
            DispatchLease.objects.bulk_create(
                [
                    DispatchLease(
                        account_id=self.account_id, owner=self.owner, expires_at=now + self.ttl
                    )
                ],
                ignore_conflicts=True,
            )
        return self._read_pause()

    def extend(self) -> bool:
        """Heartbeat: push the expiry out and re-read the account's pause (a reply may have
        met a 429 meanwhile); False if the lease is no longer ours."""
        expires = timezone.now() + self.ttl
        return bool(self._mine().update(expires_at=expires)) and self._read_pause()

    def release(self) -> None:
        self._mine().update(owner="", expires_at=None)

    def keep(self) -> None:
        """Heartbeat from a thread of our own, every third of the lease, until `stop_keeping`."""
        every = self.ttl.total_seconds() / 3
        name = f"lease-{self.account_id}"
        self._heart = threading.Thread(target=self._beat, args=(every,), name=name, daemon=True)
        self._heart.start()

    def stop_keeping(self) -> None:
        self._stop_beating.set()
        if self._heart is not None:
            self._heart.join()
            self._heart = None

    def _beat(self, every: float) -> None:
        try:
            while not self._stop_beating.wait(every):
                try:
                    ours = with_db_retry(self.extend, stop=self._stop_beating)
                except GaveUp:
                    ours = False
                if not ours:
                    log.warning("lease of account %s lost", self.account_id)
                    self.lost.set()
                    return
        finally:
            connection.close()  # this thread's own connection

    def pause(self, seconds: float) -> datetime:
        """Stop every send on the account until then: the next owner and replies wait too."""
        until = ChannelAccount.objects.filter(pk=self.account_id).pause(seconds)
        self.paused_until = max(until, self.paused_until or until)
        return until

    def _read_pause(self) -> bool:
        """Confirm we own the lease, reading the account's pause in the same query."""
        lease = (
            self._mine().select_related("account").only("account_id", "account__paused_until")
        ).first()
        if lease is None:
            return False
        self.paused_until = lease.account.paused_until
        return True

    def _mine(self) -> "QuerySet[DispatchLease]":
        return DispatchLease.objects.filter(account_id=self.account_id, owner=self.owner)
