# ruff: noqa: S608 - SQL text is built from constants and aliases only; values are parameters.
"""Audience -> delivery rows, set-based: INSERT … SELECT … ON CONFLICT DO NOTHING.

Never a Python loop over subscribers: a million rows are one statement (one per time-zone group
for weekly campaigns). The unique key (campaign, occurrence, subscription) makes every run
idempotent, so a doubled tick or a relaunch inserts nothing twice.

One message per customer per occurrence: a customer subscribed on two channels gets the menu
(or the survey) once, on one subscription. A window function ranks each customer's audience
subscriptions - for a trigger the one linked to the order first, then the most recently active
(the customer's last message there, else the latest subscribed) - and only the first is
written; a later pass never adds a second one for a customer who already has a row for that
occurrence. Every writer of a campaign holds its row lock (or the event's), so two passes never
race past that check.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import connection, transaction

from campaigns.already_ordered import ALREADY_ORDERED, ordered_since
from campaigns.audience import FROM, Sql, audience_where, db_time
from campaigns.models import Campaign, Delivery
from campaigns.schedule import Occurrence, next_weekly, zone_or_utc
from channels.providers import PROVIDERS

# Typed: inside the ranking subquery a bare NULL would be text, not an id.
NULL = Sql("CAST(NULL AS BIGINT)")
SLICE = object()  # stands for the slice number among a statement's parameters
NO_SQL = Sql("")
_SLICING = ContextVar("materialize_slicing", default=True)
COLUMNS = (
    "campaign_id, occurrence, subscription_id, account_id, order_id, order_event_id, priority,"
    " due_at, state, attempts, claimed_by, provider_message_id, reason, created_at"
)


def value(param: object) -> Sql:
    return Sql("%s", (db_time(param) if isinstance(param, dt.datetime) else param,))


# Which of a customer's subscriptions gets the message: a chat before e-mail and SMS (those
# are where a campaign falls back to: campaigns/fallbacks.py), then the one they last wrote on,
# else the newest (NULLs last written portably: SQLite and PostgreSQL sort NULL differently).
_NOT_CHATS = ", ".join(f"'{kind}'" for kind, cls in PROVIDERS.items() if not cls.deep_links)
MOST_RECENTLY_ACTIVE = Sql(
    f"a.kind IN ({_NOT_CHATS}), s.last_inbound_at IS NULL, s.last_inbound_at DESC,"
    " s.subscribed_at DESC, s.id DESC"
)


def linked_first(order: Sql) -> Sql:
    """Prefer the subscription made through `order` (a trigger's order), then the most active."""
    return Sql(
        f"CASE WHEN s.order_id = {order.text} THEN 0 ELSE 1 END, {MOST_RECENTLY_ACTIVE.text}",
        order.params,
    )


def deliveries_insert(
    *,
    campaign: Campaign,
    where: Sql,
    occurrence: Sql,
    due_at: Sql,
    now: dt.datetime,
    order: Sql = NULL,
    order_event: Sql = NULL,
    joins: Sql = NO_SQL,
    prefer: Sql = MOST_RECENTLY_ACTIVE,
    per: str = "s.customer_id",
    slices: int | None = None,
) -> int:
    """Insert one pending delivery per audience customer (on the subscription `prefer` ranks
    first) who has none for that occurrence yet; return how many.

    `per` is what gets one row: a customer, or (for a batch of events) a customer and event.
    `slices`: how many connections write it (None: decided by the audience's size).
    """
    select = [value(campaign.pk), occurrence, Sql("s.id"), Sql("s.account_id"), order, order_event]
    select += [value(campaign.priority), due_at, value(Delivery.State.PENDING), Sql("0")]
    select += [Sql("''"), Sql("''"), Sql("''"), value(now)]
    names = [name.strip() for name in COLUMNS.split(",")]
    columns = ", ".join(f"{part.text} AS {name}" for part, name in zip(select, names, strict=True))
    # Per customer: each statement writes one occurrence per customer (a one-off's, an event's,
    # a time zone's week, a win-back's one last order).
    rank = f"ROW_NUMBER() OVER (PARTITION BY {per} ORDER BY {prefer.text}) AS pick"
    # Customers who have a row for this occurrence already are left out before the ranking:
    # the window's sort reads the whole audience before the first row is inserted, so these
    # probes never wade through rows this statement is writing (which made it quadratic).
    has_row = Sql(
        "NOT EXISTS (SELECT 1 FROM subscriptions_subscription os"
        " JOIN campaigns_delivery d ON d.subscription_id = os.id"
        f" WHERE os.customer_id = s.customer_id AND d.campaign_id = %s"
        f" AND d.occurrence = {occurrence.text})",
        (campaign.pk, *occurrence.params),
    )
    # The first pass of a constant occurrence (a one-off, a zone's week) writes into nothing:
    # its writer holds the campaign's lock, and the ranking writes each subscription once. So it
    # is a plain INSERT, without ON CONFLICT's speculative insertion (a quarter of the pass).
    # Were a row there after all, the statement would fail whole and the next pass would take
    # the guarded path.
    first = occurrence.text == "%s" and not _has_rows(campaign, occurrence.params[0])
    audience = where if first else where & has_row
    slices = _slices() if slices is None else slices
    if slices > 1:
        # Customers are split by id: each customer's ranking and "has a row" probe stay in
        # one slice, so the slices never race each other for a customer.
        audience &= Sql("s.customer_id %% %s = %s", (slices, SLICE))
    sql = (
        f"INSERT INTO campaigns_delivery ({COLUMNS})"
        f" SELECT {COLUMNS} FROM ("
        f"SELECT {columns}, {rank}"
        f" FROM {FROM}{joins.text} WHERE {audience.text}"
        ") AS ranked WHERE ranked.pick = 1"
    )
    if not first:
        sql += " ON CONFLICT (campaign_id, occurrence, subscription_id) DO NOTHING"
    params = [p for part in select for p in part.params]
    params += [*prefer.params, *joins.params, *audience.params]
    if slices == 1:
        return _execute(sql, params)
    with ThreadPoolExecutor(slices, thread_name_prefix="materialize") as pool:
        slice_params = [[k if p is SLICE else p for p in params] for k in range(slices)]
        return sum(pool.map(_execute_slice, [sql] * slices, slice_params))


def _has_rows(campaign: Campaign, occurrence: object) -> bool:
    return Delivery.objects.filter(campaign=campaign, occurrence=occurrence).exists()


def _execute(sql: str, params: list) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


def _execute_slice(sql: str, params: list) -> int:
    """One slice on this thread's own connection, committed on its own.

    The caller's transaction holds the campaign's row lock until every slice has committed,
    so no other pass writes the campaign's rows meanwhile. (The slices never touch the
    campaign's row: Delivery.campaign has no database constraint to check.) A pass that fails
    after some slices have committed is finished by the next one: each statement is
    idempotent. A slice's rows are due (and claimed) as soon as it commits, so a big one
    commits with statistics that count them, as a single statement's caller does.
    """
    try:
        with transaction.atomic():
            written = _execute(sql, params)
            if written >= settings.MATERIALIZE_ANALYZE_ROWS:
                analyze_deliveries()  # the slices' ANALYZEs take turns (a self-conflicting lock)
            return written
    finally:
        connection.close()


@contextmanager
def one_statement() -> Iterator[None]:
    """Write every row on the caller's connection, whatever MATERIALIZE_SLICES says: rows that
    must commit with the caller's transaction or not at all (a launch that may still fail)."""
    token = _SLICING.set(False)
    try:
        yield
    finally:
        _SLICING.reset(token)


def _slices() -> int:
    """How many connections write one statement's rows: several only on PostgreSQL and for
    big audiences (the subscriptions table's size, as the planner knows it, is the bound).

    One statement runs on one core. On two cores, a million rows take about as long in two
    slices as in one statement (6 s) at 45% more PostgreSQL CPU: the writers contend for the
    same index pages (bench/materialize.py), hence one by default; a database with cores to
    spare may gain. Slices commit on their own connections, so they never see rows the
    caller's transaction has not committed: below the threshold (and in tests that run inside
    a transaction) one statement does it all.
    """
    wanted, at_least = settings.MATERIALIZE_SLICES, settings.MATERIALIZE_SLICE_MIN_ROWS
    if wanted <= 1 or connection.vendor != "postgresql" or not _SLICING.get():
        return 1
    if at_least <= 0:
        return wanted
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples FROM pg_class WHERE oid = 'subscriptions_subscription'::regclass"
        )
        estimate = cursor.fetchone()[0]
    return wanted if estimate >= at_least else 1  # -1: never analyzed, so not big


def analyze_deliveries() -> None:
    """Refresh the planner's statistics of the delivery table, after a big write.

    Until autovacuum's next analyze (a minute away at best, and only once a tenth of the
    table changed), a new campaign's rows are unknown to the statistics: the planner takes
    the campaign for a few rows, and the dispatcher's frequency-cap query then read every
    marketing delivery for each batch (60 ms a batch at 90,000 rows; bench/dispatch.py).
    Called in the transaction that wrote the rows: ANALYZE counts that transaction's own rows,
    and its statistics commit with them, so no dispatcher ever plans on the rows without
    them. Run after the commit, a tick's wake-up won the race: a 1M-row launch's first batch
    planned the cap's count as a scan of the whole table per subscription (30 s and more).
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {Delivery._meta.db_table}")


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

    Each customer gets the send at `local_time` on `weekday` in their own zone. One INSERT
    writes every zone that is due for the same week, each customer's due time picked by their
    zone: a statement per zone read the whole audience once per zone.
    """
    if campaign.weekday is None or campaign.local_time is None:
        return 0
    audience = audience_where(campaign, now=now)
    horizon = now + dt.timedelta(hours=settings.RECURRING_LOOKAHEAD_HOURS)
    weeks: dict[str, list[tuple[Occurrence, list]]] = defaultdict(list)
    for occurrence, zones in _zone_groups(campaign, audience, now).items():
        if occurrence.due_at <= horizon:
            weeks[occurrence.key].append((occurrence, zones))
    created = 0
    for key, groups in weeks.items():
        names = [name for _, zones in groups for name in zones]
        in_zones = Sql(f"c.time_zone IN ({', '.join(['%s'] * len(names))})", tuple(names))
        created += deliveries_insert(
            campaign=campaign,
            where=audience & in_zones,
            occurrence=value(key),
            due_at=_due_by_zone(groups),
            now=now,
        )
        for occurrence, zones in groups:
            _skip_already_ordered(campaign, occurrence, zones)
    return created


def _due_by_zone(groups: list[tuple[Occurrence, list]]) -> Sql:
    if len(groups) == 1:
        return value(groups[0][0].due_at)
    cases, params = [], []
    for occurrence, zones in groups:
        cases.append(f"WHEN c.time_zone IN ({', '.join(['%s'] * len(zones))}) THEN %s")
        params += [*zones, db_time(occurrence.due_at)]
    return Sql(f"CASE {' '.join(cases)} END", tuple(params))


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


def _skip_already_ordered(campaign: Campaign, occurrence: Occurrence, zones: list[str]) -> int:
    """Skip this occurrence's open rows of customers who already ordered for the coming week
    (campaigns/already_ordered.py), recorded with the reason. Every refresh re-applies it, so
    an order placed after the first pass counts; the dispatcher checks again at send time."""
    windows: dict[dt.datetime, list[str]] = defaultdict(list)
    for name in zones:  # zones sharing a due time may differ in last week's (DST)
        since = ordered_since(campaign, occurrence.key, zone_or_utc(name))
        if since is None:
            return 0
        windows[since].append(name)
    skipped = 0
    for since, names in windows.items():
        in_zones = ", ".join(["%s"] * len(names))
        sql = (
            "UPDATE campaigns_delivery SET state = %s, reason = %s"
            " WHERE campaign_id = %s AND occurrence = %s AND state IN (%s, %s)"
            " AND EXISTS (SELECT 1 FROM subscriptions_subscription s"
            " JOIN subscriptions_customer c ON c.id = s.customer_id"
            " JOIN subscriptions_order o ON o.customer_id = s.customer_id"
            f" WHERE s.id = campaigns_delivery.subscription_id AND c.time_zone IN ({in_zones})"
            " AND o.status <> 'cancelled' AND o.placed_at >= %s)"
        )
        params = [Delivery.State.SKIPPED, ALREADY_ORDERED, campaign.pk, occurrence.key]
        params += [Delivery.State.PENDING, Delivery.State.DEFERRED, *names, db_time(since)]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            skipped += max(cursor.rowcount, 0)
    return skipped
