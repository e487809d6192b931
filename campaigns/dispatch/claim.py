"""Claiming due rows for one account and marking them `sending`, each one short statement.

PostgreSQL: `SELECT … FOR UPDATE SKIP LOCKED` lets two claimers never wait for or take each
other's rows. SQLite has neither; there the lease alone guarantees one claimer per account and
the IMMEDIATE transaction serialises writers.
"""

import operator
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from functools import reduce
from typing import TypeVar

from django.db import connection, transaction
from django.db.models import (
    Exists,
    F,
    Field,
    Max,
    Model,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    prefetch_related_objects,
)
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init

from campaigns import pg_arrays
from campaigns.cap_counts import SENT_OR_MAYBE
from campaigns.content import uses_items
from campaigns.models import Campaign, Delivery, DispatchLease
from channels.models import ChannelAccount
from subscriptions.models import Customer, Order, Subscription

State = Delivery.State
M = TypeVar("M", bound=Model)
DUE_STATES = (State.PENDING, State.DEFERRED)
# A claimed row is `queued` at once (one write per row fewer than a separate step): held by a
# dispatcher until its policies and its pacing slot let it go. `claimed` is what rows of
# earlier versions were left in.
HELD_STATES = (State.CLAIMED, State.QUEUED)  # a dispatcher holds them; none has left
LEFT_STATES = (*HELD_STATES, State.SENDING)  # what a dead dispatcher may leave behind
T, C, L = Delivery._meta.db_table, Campaign._meta.db_table, DispatchLease._meta.db_table


# Only what the policies, the content and the outcomes read: fewer columns to fetch and
# convert per row (a test counts queries, so a field read but not listed here shows up).
# (model, path from the delivery, SQL alias, join, fields): one table of it per line.
LOADED = (
    (Delivery, "", "d", "", (
        "id", "campaign", "occurrence", "subscription", "account", "order", "due_at", "attempts",
        "fallback_of", "repeats_sent", "reason",
    )),
    (Subscription, "subscription", "s", "JOIN {table} s ON s.id = d.subscription_id", (
        "id", "customer", "platform_user_id", "status", "wants_menu", "wants_surveys",
        "wants_promotions", "last_inbound_at", "order",
    )),
    (Customer, "subscription__customer", "c", "JOIN {table} c ON c.id = s.customer_id", (
        "id", "name", "locale", "time_zone",
    )),
    (Order, "order", "o", "LEFT JOIN {table} o ON o.id = d.order_id", ("id", "external_id")),
    (Order, "subscription__order", "so", "LEFT JOIN {table} so ON so.id = s.order_id", (
        "id", "external_id",
    )),
)  # fmt: skip
LOAD_FIELDS = tuple(
    f"{path}__{name}" if path else name
    for _, path, _, _, names in LOADED
    for name in names
    if name != "id"
)


def claim(account: ChannelAccount, *, owner: str, limit: int, now: datetime) -> list[Delivery]:
    """Claim up to `limit` due rows, service first, and load everything policies and content use."""
    if connection.vendor == "postgresql":
        rows = _claim_and_load(account.pk, owner=owner, limit=limit, now=now)
    else:
        ids = _claim_ids(account.pk, owner=owner, limit=limit, now=now)
        rows = list(
            Delivery.objects.filter(id__in=ids, state=State.QUEUED, claimed_by=owner)
            .select_related("subscription__customer", "subscription__order", "order")
            .only(*LOAD_FIELDS)
            .order_by("priority", "due_at", "id")
        )
    if not rows:
        return []
    # A batch holds a handful of campaigns: load each once instead of joining it into every
    # row, so its content JSON is decoded (and parsed by campaigns.content) once per batch.
    campaigns = Campaign.objects.in_bulk({row.campaign_id for row in rows})
    # Set the relations' caches directly: the descriptors' checks cost more than the loop.
    set_campaign = Delivery.campaign.field.set_cached_value
    set_account = Delivery.account.field.set_cached_value
    for row in rows:
        set_campaign(row, campaigns[row.campaign_id])
        set_account(row, account)
    if any(uses_items(campaign, account.kind) for campaign in campaigns.values()):
        orders = {o.pk: o for r in rows for o in (r.order, r.subscription.order) if o is not None}
        prefetch_related_objects(list(orders.values()), "items")
    return rows


# PostgreSQL: the claim, as common table expressions ending in `claimed`. SKIP LOCKED passes
# over rows another claimer holds instead of waiting for them. Each state is read on its own so
# that the index (account, state, priority, due_at) hands rows over already in order and the
# LIMIT stops the scan: with `state IN (…)` PostgreSQL sorted the whole backlog on every
# claim (57 ms at 200,000 rows). The filter is due() below, written out.
CLAIM_SQL = f"""
    WITH paused AS (SELECT id FROM {C} WHERE status = 'paused'),
    pending AS (
        SELECT id, priority, due_at FROM {T}
        WHERE account_id = %(account)s AND state = 'pending' AND due_at <= %(now)s
            AND campaign_id NOT IN (SELECT id FROM paused)
        ORDER BY priority, due_at LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED
    ),
    deferred AS (
        SELECT id, priority, due_at FROM {T}
        WHERE account_id = %(account)s AND state = 'deferred' AND due_at <= %(now)s
            AND campaign_id NOT IN (SELECT id FROM paused)
        ORDER BY priority, due_at LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED
    ),
    picked AS (
        SELECT id FROM (SELECT * FROM pending UNION ALL SELECT * FROM deferred) AS due
        ORDER BY priority, due_at LIMIT %(limit)s
    ),
    claimed AS (
        UPDATE {T} SET state = 'queued', claimed_by = %(owner)s
        WHERE id IN (SELECT id FROM picked)
        RETURNING *
    )
"""  # noqa: S608 - table names are ours, values are parameters


def _claim_ids(account_id: int, *, owner: str, limit: int, now: datetime) -> list[int]:
    """SQLite: no SKIP LOCKED; the lease makes us the only claimer, and the IMMEDIATE
    transaction keeps the read and the write together."""
    with transaction.atomic():
        rows = due(now).filter(account_id=account_id).order_by("priority", "due_at")
        ids = list(rows.values_list("id", flat=True)[:limit])
        Delivery.objects.filter(id__in=ids, state__in=DUE_STATES).update(
            state=State.QUEUED, claimed_by=owner
        )
    return ids


# PostgreSQL: the claim and the load in one statement. The ORM's select_related form of the
# load cost a second round trip, its compile step and a 500-item IN list quoted on the client:
# together a quarter of the main thread's time per row (bench/dispatch.py).
def _fields(model: type[Model], names: tuple[str, ...]) -> list[Field]:
    """The model's concrete fields among `names`, in the model's order (what from_db wants)."""
    return [f for f in model._meta.concrete_fields if f.name in names]


_FIELDS = [_fields(model, names) for model, _, _, _, names in LOADED]
_SELECT = ", ".join(
    f"{alias}.{f.column}"
    for (_, _, alias, _, _), fields in zip(LOADED, _FIELDS, strict=True)
    for f in fields
)
_JOINS = " ".join(join.format(table=model._meta.db_table) for model, _, _, join, _ in LOADED[1:])
CLAIM_AND_LOAD_SQL = f"""{CLAIM_SQL}
    SELECT {_SELECT} FROM claimed AS d {_JOINS}
    ORDER BY d.priority, d.due_at, d.id
"""  # noqa: S608 - table and column names are ours, values are parameters


def _spans(tables: list[list[Field]]) -> list[tuple[int, int, list[str]]]:
    """Each table's slice of a record, and the attnames from_db wants for it."""
    spans, start = [], 0
    for fields in tables:
        spans.append((start, start + len(fields), [f.attname for f in fields]))
        start += len(fields)
    return spans


_SPANS = _spans(_FIELDS)


def _claim_and_load(account_id: int, *, owner: str, limit: int, now: datetime) -> list[Delivery]:
    params = {"owner": owner, "account": account_id, "now": now, "limit": limit}
    with connection.cursor() as cursor:
        cursor.execute(CLAIM_AND_LOAD_SQL, params)
        records = cursor.fetchall()
    db = connection.alias
    (d0, d1, d_names), (s0, s1, s_names), (c0, c1, c_names), (o0, o1, o_names), (p0, p1, _) = _SPANS
    load = _loader()
    set_subscription = Delivery.subscription.field.set_cached_value
    set_customer = Subscription.customer.field.set_cached_value
    set_order = Delivery.order.field.set_cached_value
    set_own_order = Subscription.order.field.set_cached_value
    rows = []
    for record in records:
        row = load(Delivery, db, d_names, record[d0:d1])
        subscription = load(Subscription, db, s_names, record[s0:s1])
        set_customer(subscription, load(Customer, db, c_names, record[c0:c1]))
        # A LEFT JOIN that found nothing is cached as None too: no query on access.
        set_order(row, load(Order, db, o_names, record[o0:o1]) if record[o0] else None)
        own = load(Order, db, o_names, record[p0:p1]) if record[p0] else None
        set_own_order(subscription, own)
        set_subscription(row, subscription)
        rows.append(row)
    return rows


def _loader() -> Callable[[type[M], str, list[str], tuple], M]:
    """How to build the claim's models from their loaded columns: `_partial`, or Django's own
    `from_db` while anything listens to a model's construction (its signals)."""
    for model, *_ in LOADED:
        if pre_init.has_listeners(model) or post_init.has_listeners(model):
            return lambda model, db, names, values: model.from_db(db, names, values)
    return _partial


def _partial(model: type[M], db: str, attnames: list[str], values: tuple) -> M:
    """The instance `from_db` makes of these columns, the model's other fields deferred.

    `from_db` fills the missing fields with DEFERRED and `__init__` then walks every field of
    the model: 18 us per claimed row for its three models against 3 (bench/dispatch.py). The
    instance is the same: the loaded fields in its `__dict__`, the rest read on access
    (Django's deferred fields are exactly those absent from it). A test holds the two to
    the same instances.
    """
    instance = model.__new__(model)
    instance.__dict__.update(zip(attnames, values, strict=False))
    state = instance._state = ModelState()
    state.adding, state.db = False, db
    return instance


# The fence: a row becomes `sending` only while its owner still holds the lease, in the same
# statement. A new owner takes the lease (a conditional UPDATE) before it recovers anything, so
# a dispatcher whose lease was taken can never start another send. An expired lease that
# nobody took is still ours: a database outage longer than the lease does not stop the run.
MARK_SENDING_SQL = f"""
    UPDATE {T} SET state = 'sending', attempts = attempts + 1, sent_at = %(now)s
    WHERE id = ANY(%(ids)s::bigint[]) AND state = 'queued' AND claimed_by = %(owner)s
        AND EXISTS (SELECT 1 FROM {L} WHERE account_id = %(account)s AND owner = %(owner)s)
    RETURNING id
"""  # noqa: S608 - table names are ours, values are parameters


def mark_sending(ids: list[int], *, account_id: int, owner: str, now: datetime) -> set[int]:
    """Commit queued rows as `sending` just before their requests leave; returns those marked.

    Called for every few sends, so PostgreSQL gets the statement ready-made (the ORM's compile
    step cost more than the query itself); the ORM form is the same, for SQLite.
    """
    if not ids:
        return set()
    if connection.vendor == "postgresql":
        params = {"ids": pg_arrays.ints(ids), "owner": owner, "account": account_id, "now": now}
        with connection.cursor() as cursor:
            cursor.execute(MARK_SENDING_SQL, params)
            return {row[0] for row in cursor.fetchall()}
    lease = DispatchLease.objects.filter(account_id=account_id, owner=owner)
    with transaction.atomic():
        if not lease.exists():
            return set()
        rows = Delivery.objects.filter(id__in=ids, state=State.QUEUED, claimed_by=owner)
        marked = set(rows.values_list("id", flat=True))
        rows.filter(id__in=marked).update(
            state=State.SENDING, attempts=F("attempts") + 1, sent_at=now
        )
    return marked


def recent_sends(rows: list[Delivery], *, within: float, now: datetime) -> dict[str, float]:
    """Seconds since each row's recipient last got a delivery, for those within `within`
    seconds: an earlier run's sends, which this run's spacing has not seen."""
    if not rows or within <= 0:
        return {}
    recipients = {row.subscription_id: row.subscription.platform_user_id for row in rows}
    last = (
        Delivery.objects.filter(
            subscription_id__in=recipients,
            state__in=SENT_OR_MAYBE,
            sent_at__gte=now - timedelta(seconds=within),
        )
        .order_by()
        .values("subscription_id")
        .annotate(at=Max("sent_at"))
        .values_list("subscription_id", "at")
    )
    return {recipients[sub]: max((now - at).total_seconds(), 0.0) for sub, at in last}


def release(ids: Iterable[int], *, owner: str) -> int:
    """Claimed or queued rows we will not send after all go back to the due pool, untouched."""
    ids = list(ids)
    if not ids:
        return 0
    return Delivery.objects.filter(id__in=ids, state__in=HELD_STATES, claimed_by=owner).update(
        state=State.PENDING, claimed_by=""
    )


def due(now: datetime) -> "QuerySet[Delivery]":
    """Rows to send now. A paused campaign's rows wait, untouched, until it is relaunched."""
    paused = Campaign.objects.filter(status=Campaign.Status.PAUSED).values("pk")
    return Delivery.objects.filter(state__in=DUE_STATES, due_at__lte=now).exclude(
        campaign_id__in=paused
    )


def has_due_work(account_id: int, now: datetime) -> bool:
    return any(list(_first_due(account_id, state, now)) for state in DUE_STATES)


def _first_due(account: int | OuterRef, state: str, now: datetime) -> "QuerySet[Delivery]":
    """The account's first due row in `state`, in the claim index's order (account, state,
    priority, due_at), so PostgreSQL walks that index and stops at the first. Asked as
    EXISTS, it planned a sequential scan of the whole table whenever its statistics promised
    many due rows: 150 ms a tick beside a 1M-row campaign (bench/trigger_latency.py)."""
    rows = due(now).filter(account=account, state=state)
    return rows.order_by("priority", "due_at").values("pk")[:1]


def accounts_to_wake(now: datetime) -> list[int]:
    """Enabled accounts with no live lease that need a dispatcher: due work and no pause, or
    rows a dead dispatcher left claimed, queued or sending.

    The second makes recovery the tick's job: a killed worker's rows are taken back within a
    tick of its lease expiring (DISPATCH_LEASE_SECONDS + DISPATCH_TICK_SECONDS), not at the
    next sweep. Such rows with no live lease mean their owner is gone: a live dispatcher
    heartbeats its lease while it holds any. A paused account is woken for that too; its
    dispatcher recovers, then waits out the pause.
    """
    live = DispatchLease.objects.filter(account=OuterRef("pk"), expires_at__gt=now).exclude(
        owner=""
    )
    left = Delivery.objects.filter(account=OuterRef("pk"), state__in=LEFT_STATES)
    not_paused = Q(paused_until__isnull=True) | Q(paused_until__lte=now)
    firsts = {
        f"first_{state}": Subquery(_first_due(OuterRef("pk"), state, now)) for state in DUE_STATES
    }
    has_due = reduce(operator.or_, (Q(**{f"{name}__isnull": False}) for name in firsts))
    return list(
        ChannelAccount.objects.filter(enabled=True)
        .annotate(**firsts)
        .filter((has_due & not_paused) | Q(Exists(left)))
        .exclude(Exists(live))
        .values_list("pk", flat=True)
    )
