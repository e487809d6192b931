"""Retention: what is kept only as long as it is useful, then purged in small batches.

Defaults (README, "Privacy and security"): inbound events 90 days (platforms redeliver within
days; a quarter covers support questions), sandbox messages 7 (demo chats), final deliveries
400 (a year of campaign figures to compare with; caps and attribution need days), link clicks
90 (the delivery keeps its clicked_at, so the figures stay; the click rows are detail).

Each batch is one short statement in its own transaction (autocommit), so no lock is held
longer than one batch; a run stops after RETENTION_RUN_SECONDS and the next one goes on.
0 days keeps that kind for ever. The consent log is never purged here (README).
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from campaigns.models import Delivery, LinkClick
from channels.models import InboundEvent, SandboxMessage


@dataclass(frozen=True)
class Kept:
    """One kind of row and how its age is told."""

    name: str
    days: Callable[[], int]
    expired: Callable[[datetime], QuerySet]


KINDS = (
    Kept(
        "inbound_events",
        lambda: settings.RETAIN_INBOUND_EVENTS_DAYS,
        lambda cutoff: InboundEvent.objects.filter(received_at__lt=cutoff),
    ),
    Kept(
        "sandbox_messages",
        lambda: settings.RETAIN_SANDBOX_MESSAGES_DAYS,
        lambda cutoff: SandboxMessage.objects.filter(created_at__lt=cutoff),
    ),
    Kept(
        "link_clicks",
        lambda: settings.RETAIN_LINK_CLICKS_DAYS,
        lambda cutoff: LinkClick.objects.filter(clicked_at__lt=cutoff),
    ),
    Kept(
        # Only rows that are done: a deferred or pending one is still work. Their answers,
        # clicks and attributions go with them (CASCADE): the campaign is that old too.
        "deliveries",
        lambda: settings.RETAIN_DELIVERIES_DAYS,
        lambda cutoff: Delivery.objects.filter(
            Q(state__in=Delivery.FINAL_STATES), Q(due_at__lt=cutoff), Q(created_at__lt=cutoff)
        ),
    ),
)


def retention_purge(
    *, now: datetime | None = None, run_seconds: float | None = None
) -> dict[str, int]:
    """Delete what is older than its retention, batch by batch; rows deleted, by kind."""
    now = now or timezone.now()
    budget = settings.RETENTION_RUN_SECONDS if run_seconds is None else run_seconds
    deadline = time.monotonic() + budget
    deleted: dict[str, int] = {}
    for kind in KINDS:
        days = kind.days()
        if days <= 0:
            continue
        expired = kind.expired(now - timedelta(days=days))
        deleted[kind.name] = _purge(expired, deadline)
    return deleted


def _purge(expired: QuerySet[Model], deadline: float) -> int:
    count = 0
    batch = settings.RETENTION_BATCH_SIZE
    while True:
        ids = list(expired.order_by("pk").values_list("pk", flat=True)[:batch])
        if not ids:
            return count
        # pk__in of a fixed list: each batch is its own short transaction, whatever cascades.
        expired.model.objects.filter(pk__in=ids).delete()
        count += len(ids)
        if len(ids) < batch or time.monotonic() > deadline:
            return count
