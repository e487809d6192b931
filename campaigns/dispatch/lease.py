"""One dispatcher per channel account: a lease row with owner and expiry, kept by heartbeats.

One owner per account makes the account's rate limit global without a shared counter; the
expiry (seconds, not hours) lets another worker take over after a crash. Times are the app
servers' clocks (kept in sync by NTP); the lease is long compared with any sane skew.
"""

import os
import socket
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from campaigns.models import DispatchLease


def new_owner(prefix: str = "") -> str:
    """A unique owner id that also says where the owner runs (for admins reading claimed_by)."""
    return f"{prefix}{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


class Lease:
    def __init__(self, account_id: int, owner: str, ttl: float | None = None) -> None:
        self.account_id = account_id
        self.owner = owner
        self.ttl = timedelta(seconds=settings.DISPATCH_LEASE_SECONDS if ttl is None else ttl)
        self.paused_until: datetime | None = None

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
        lease = DispatchLease.objects.filter(account_id=self.account_id, owner=self.owner).first()
        if lease is None:
            return False
        self.paused_until = lease.paused_until
        return True

    def extend(self) -> bool:
        """Heartbeat: push the expiry out; False if the lease is no longer ours."""
        expires = timezone.now() + self.ttl
        return bool(self._mine().update(expires_at=expires))

    def release(self) -> None:
        self._mine().update(owner="", expires_at=None)

    def pause(self, seconds: float) -> datetime:
        """Stop every send on the account until then, whoever holds the lease next."""
        until = timezone.now() + timedelta(seconds=seconds)
        DispatchLease.objects.filter(account_id=self.account_id).filter(
            Q(paused_until__isnull=True) | Q(paused_until__lt=until)
        ).update(paused_until=until)
        self.paused_until = until
        return until

    def _mine(self) -> "QuerySet[DispatchLease]":
        return DispatchLease.objects.filter(account_id=self.account_id, owner=self.owner)
