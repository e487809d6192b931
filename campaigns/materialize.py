# ruff: noqa: S608 - SQL text is built from constants and aliases only; values are parameters.
"""Audience -> delivery rows, set-based: INSERT … SELECT … ON CONFLICT DO NOTHING.

Never a Python loop over subscribers: a million rows are one statement (one per time-zone group
for weekly campaigns). The unique key (campaign, occurrence, subscription) makes every run
idempotent, so a doubled tick or a relaunch inserts nothing twice.
"""

import datetime as dt
from collections import defaultdict

from django.conf import settings
from django.db import connection

from campaigns.audience import FROM, Sql, audience_where, db_time
from campaigns.models import Campaign, Delivery
from campaigns.schedule import Occurrence, next_weekly, zone_or_utc

NULL = Sql("NULL")
COLUMNS = (
    "campaign_id, occurrence, subscription_id, account_id, order_id, order_event_id, priority,"
    " due_at, state, attempts, claimed_by, provider_message_id, reason, created_at"
)
ALREADY_ORDERED = "already_ordered"


def value(param: object) -> Sql:
    return Sql("%s", (db_time(param) if isinstance(param, dt.datetime) else param,))


def deliveries_insert(
    *,
    campaign: Campaign,
    where: Sql,
    occurrence: Sql,
    due_at: Sql,
    now: dt.datetime,
    order: Sql = NULL,
    order_event: Sql = NULL,
    joins: str = "",
) -> int:
    """Insert one pending delivery per audience row not already there; return how many."""
    select = [value(campaign.pk), occurrence, Sql("s.id"), Sql("s.account_id"), order, order_event]
    select += [value(campaign.priority), due_at, value(Delivery.State.PENDING), Sql("0")]
    select += [Sql("''"), Sql("''"), Sql("''"), value(now)]
    sql = (
        f"INSERT INTO campaigns_delivery ({COLUMNS})"
        f" SELECT {', '.join(part.text for part in select)}"
        f" FROM {FROM}{joins} WHERE {where.text}"
        " ON CONFLICT (campaign_id, occurrence, subscription_id) DO NOTHING"
    )
    params = [p for part in select for p in part.params] + list(where.params)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


def one_off_materialize(*, campaign: Campaign, now: dt.datetime) -> int:
    """Every audience member gets the one-off, due at send_at (occurrence "once")."""
    if campaign.send_at is None:
        return 0
    return deliveries_insert(
        campaign=campaign,
        where=audience_where(campaign, now=now),
        occurrence=value("once"),
        due_at=value(campaign.send_at),
        now=now,
    )


def recurring_materialize(*, campaign: Campaign, now: dt.datetime) -> int:
    """Write the next weekly occurrence for every time zone whose local due time is near.

    Each customer gets the send at `local_time` on `weekday` in their own zone. The zones are
    few, so one INSERT per group of zones sharing a due time stays set-based.
    """
    if campaign.weekday is None or campaign.local_time is None:
        return 0
    audience = audience_where(campaign, now=now)
    horizon = now + dt.timedelta(hours=settings.RECURRING_LOOKAHEAD_HOURS)
    created = 0
    for occurrence, zones in _zone_groups(campaign, audience, now).items():
        if occurrence.due_at > horizon:
            continue
        in_zones = Sql(f"c.time_zone IN ({', '.join(['%s'] * len(zones))})", tuple(zones))
        created += deliveries_insert(
            campaign=campaign,
            where=audience & in_zones,
            occurrence=value(occurrence.key),
            due_at=value(occurrence.due_at),
            now=now,
        )
        _skip_already_ordered(campaign, occurrence)
    return created


def _zone_groups(campaign: Campaign, audience: Sql, now: dt.datetime) -> dict[Occurrence, list]:
    """The audience's distinct time zones, grouped by the occurrence they are due for."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT c.time_zone FROM {FROM} WHERE {audience.text}",
            audience.params,
        )
        names = [row[0] for row in cursor.fetchall()]
    late = dt.timedelta(minutes=settings.RECURRING_LATE_MINUTES)
    groups: dict[Occurrence, list] = defaultdict(list)
    for name in names:
        occurrence = next_weekly(
            weekday=campaign.weekday,  # type: ignore[arg-type]  # checked by the caller
            local_time=campaign.local_time,  # type: ignore[arg-type]
            zone=zone_or_utc(name),
            now=now,
            late=late,
        )
        groups[occurrence].append(name)
    return groups


def _skip_already_ordered(campaign: Campaign, occurrence: Occurrence) -> int:
    """Rule (trigger_conditions {"exclude_ordered_since_days": N}): a customer who placed an
    order in the N days before this occurrence's due time has ordered for the coming week, so
    their pending row is skipped with reason "already_ordered" (recorded, visible in stats).
    Every refresh re-applies it, so an order placed after the first pass still counts."""
    days = campaign.trigger_conditions.get("exclude_ordered_since_days")
    if days is None:
        return 0
    since = occurrence.due_at - dt.timedelta(days=float(days))
    sql = (
        "UPDATE campaigns_delivery SET state = %s, reason = %s"
        " WHERE campaign_id = %s AND occurrence = %s AND due_at = %s AND state IN (%s, %s)"
        " AND EXISTS (SELECT 1 FROM subscriptions_subscription s"
        " JOIN subscriptions_order o ON o.customer_id = s.customer_id"
        " WHERE s.id = campaigns_delivery.subscription_id"
        " AND o.status <> 'cancelled' AND o.placed_at >= %s)"
    )
    params = [Delivery.State.SKIPPED, ALREADY_ORDERED, campaign.pk, occurrence.key]
    params += [db_time(occurrence.due_at), Delivery.State.PENDING, Delivery.State.DEFERRED]
    params += [db_time(since)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)
