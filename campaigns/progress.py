"""A campaign's progress while it runs: delivery counts by outcome, one query per campaign
(or one for a whole list page), and when it goes next."""

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from campaigns.models import Campaign, Delivery
from campaigns.schedule import next_weekly

State = Delivery.State
DONE = (State.SENT, State.FAILED, State.SKIPPED, State.UNKNOWN)
COUNTS = {
    "total": Count("deliveries"),
    "sent": Count("deliveries", filter=Q(deliveries__state=State.SENT)),
    "deferred": Count("deliveries", filter=Q(deliveries__state=State.DEFERRED)),
    "failed": Count("deliveries", filter=Q(deliveries__state__in=(State.FAILED, State.UNKNOWN))),
    "skipped": Count("deliveries", filter=Q(deliveries__state=State.SKIPPED)),
    "done": Count("deliveries", filter=Q(deliveries__state__in=DONE)),
}


def with_progress(campaigns: QuerySet[Campaign]) -> QuerySet[Campaign]:
    """Annotate each campaign with the counts in COUNTS (one grouped query)."""
    return campaigns.annotate(**{f"progress_{key}": count for key, count in COUNTS.items()})


def campaign_progress(campaign: Campaign) -> dict[str, Any]:
    """Counts, percent done and status; reads the annotation when the list already has it."""
    if hasattr(campaign, "progress_total"):
        counts = {key: getattr(campaign, f"progress_{key}") for key in COUNTS}
    else:
        counts = Campaign.objects.filter(pk=campaign.pk).aggregate(**COUNTS)
    total = counts["total"]
    percent = round(100 * counts["done"] / total) if total else 0
    next_at = next_occurrence(campaign)
    return {
        **counts,
        "percent": percent,
        "status": campaign.status,
        "next": next_at.isoformat() if isinstance(next_at, dt.datetime) else next_at,
    }


def next_occurrence(campaign: Campaign) -> dt.datetime | str | None:
    """When it goes next: a one-off's time, a weekly one's next moment (in UTC, its local time
    in the customer's zone varies), "on each order event" for a trigger."""
    if campaign.status in (Campaign.Status.FINISHED, Campaign.Status.DRAFT) and not (
        campaign.status == Campaign.Status.DRAFT and campaign.send_at
    ):
        return None
    if campaign.kind == Campaign.Kind.ONE_OFF:
        return campaign.send_at
    if campaign.kind == Campaign.Kind.RECURRING:
        if campaign.weekday is None or campaign.local_time is None:
            return None
        return next_weekly(
            weekday=campaign.weekday, local_time=campaign.local_time, zone=ZoneInfo("UTC"),
            now=timezone.now(), late=dt.timedelta(0),
        ).due_at  # fmt: skip
    return f"on each {campaign.trigger_event}" if campaign.trigger_event else None
