"""Figures kept by the workers, so the stats pages answer in milliseconds.

Computing every figure of a 1,000,000-delivery campaign takes seconds (eight aggregates over
its rows; bench/stats.py), the programme's over a month of deliveries longer still. A beat task
recomputes the figures of every campaign still moving (launched, or with a delivery sent within
the attribution window plus a day: reads, clicks and attributed orders still arrive) every
STATS_SNAPSHOT_SECONDS and keeps them in StatsSnapshot; another keeps the programme dashboard's
default period in ProgrammeSnapshot every PROGRAMME_SNAPSHOT_SECONDS. Readers take a snapshot
while it is younger than STATS_SNAPSHOT_MAX_AGE, else compute the figures at once and keep them
(another period of the programme the same way); either way the answer says when it was computed.
"""

import datetime as dt
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from campaigns.models import Campaign, Delivery, ProgrammeSnapshot, StatsSnapshot
from campaigns.programme import DEFAULT_DAYS, programme_stats
from campaigns.stats import campaign_stats


def campaign_stats_snapshot(
    campaign: Campaign, *, now: dt.datetime | None = None
) -> dict[str, Any]:
    """The campaign's figures, from a fresh enough snapshot or computed now (and kept)."""
    return _kept_or_computed(
        StatsSnapshot, {"campaign": campaign}, now, partial(campaign_stats, campaign)
    )


def stats_snapshot_refresh(*, campaign: Campaign, now: dt.datetime | None = None) -> StatsSnapshot:
    """Compute the campaign's figures and keep them."""
    return _keep(StatsSnapshot, {"campaign": campaign}, now, partial(campaign_stats, campaign))


def stats_snapshots_refresh(*, now: dt.datetime | None = None) -> int:
    """Beat: refresh the snapshot of every campaign whose figures may still change."""
    now = now or timezone.now()
    recent = now - dt.timedelta(days=settings.ATTRIBUTION_WINDOW_DAYS + 1)
    moving = Campaign.objects.filter(
        Q(status__in=(Campaign.Status.RUNNING, Campaign.Status.SCHEDULED))
        | Q(pk__in=Delivery.objects.filter(sent_at__gte=recent).values("campaign_id"))
    )
    refreshed = 0
    for campaign in moving.order_by("pk"):
        stats_snapshot_refresh(campaign=campaign, now=now)
        refreshed += 1
    return refreshed


def programme_stats_snapshot(*, days: int, now: dt.datetime | None = None) -> dict[str, Any]:
    """The programme's figures over the last `days` days, from a fresh enough snapshot or
    computed now (and kept)."""
    now = now or timezone.now()
    return _kept_or_computed(
        ProgrammeSnapshot, {"days": days}, now, partial(programme_stats, days=days, now=now)
    )


def programme_snapshot_refresh(
    *, days: int = DEFAULT_DAYS, now: dt.datetime | None = None
) -> ProgrammeSnapshot:
    """Compute the programme's figures over the last `days` days and keep them (beat, for the
    dashboard's default period)."""
    now = now or timezone.now()
    return _keep(
        ProgrammeSnapshot, {"days": days}, now, partial(programme_stats, days=days, now=now)
    )


Snapshot = StatsSnapshot | ProgrammeSnapshot
Figures = Callable[[], dict[str, Any]]


def _kept_or_computed(
    model: type[Snapshot], key: dict[str, Any], now: dt.datetime | None, figures: Figures
) -> dict[str, Any]:
    """The figures kept under `key` while younger than STATS_SNAPSHOT_MAX_AGE, else computed
    now and kept; with when they were computed."""
    now = now or timezone.now()
    max_age = dt.timedelta(seconds=settings.STATS_SNAPSHOT_MAX_AGE)
    kept = model.objects.filter(**key, computed_at__gte=now - max_age).first()
    if kept is None:
        kept = _keep(model, key, now, figures)
    return {**kept.figures, "computed_at": kept.computed_at.isoformat()}


def _keep(
    model: type[Snapshot], key: dict[str, Any], now: dt.datetime | None, figures: Figures
) -> Snapshot:
    started = time.perf_counter()
    computed = figures()
    snapshot, _ = model.objects.update_or_create(
        **key,
        defaults={
            "computed_at": now or timezone.now(),
            "seconds": round(time.perf_counter() - started, 3),
            "figures": computed,
        },
    )
    return snapshot
