# ruff: noqa: S608 - SQL text is built from constants and table names; values are parameters.
"""The frequency cap's counts for a batch of customers (campaigns/policies.py FrequencyCap, and
the fence at marking, campaigns/dispatch/cap_fence.py).

On PostgreSQL the two queries are SQL with the batch's ids as array literals (pg_arrays.py):
the ORM's form, with an IN list of 500 customers and one of 500 rows, cost 11 ms of the
dispatcher's CPU per batch (compiling and quoting 1,000 parameters) against 1.5 ms (about 20 us
per delivery). The ORM's form stays for SQLite, and a test holds the two to the same answers.
"""

from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Count, Func, OuterRef, QuerySet, Subquery

from campaigns import pg_arrays
from campaigns.models import Campaign, Delivery
from subscriptions.models import Subscription

MARKETING = Campaign.Category.MARKETING
# States whose request left (or may have): they count against the frequency cap.
SENT_OR_MAYBE = (Delivery.State.SENT, Delivery.State.SENDING, Delivery.State.UNKNOWN)
D, S, C = Delivery._meta.db_table, Subscription._meta.db_table, Campaign._meta.db_table
# Counted per subscription, in a subquery run once for each on the index (subscription,
# sent_at). A join let the planner start from the deliveries when its statistics were stale (a
# campaign just written, or just sent: sent_at was NULL when last analyzed), and each batch
# then read every marketing delivery (60 ms a batch at 90,000 rows; bench/dispatch.py).
# Statistics that know nothing of a big campaign still mislead it: it took the (campaign,
# occurrence, subscription) key and read the whole campaign per subscription (23 s a batch
# beside a 1M-row one). So rows commit with their statistics (campaigns/materialize.py).
SENT_SQL = f"""
    SELECT s.customer_id, s.status, (
        SELECT COUNT(*) FROM {D} d
        WHERE d.subscription_id = s.id AND d.state = ANY(%(sent)s) AND d.sent_at >= %(since)s
            AND NOT d.repeats_sent
            AND d.campaign_id IN (SELECT id FROM {C} WHERE category = %(marketing)s)
    )
    FROM {S} s WHERE s.customer_id = ANY(%(customers)s::bigint[])
"""
# One pass over the account's queued rows (a batch or two), grouped: counted per subscription
# like the sent ones, it read all of them once per subscription, 500 x 500 row checks a batch
# at full speed (100 ms of PostgreSQL; bench/dispatch.py).
QUEUED_SQL = f"""
    SELECT s.customer_id, COUNT(*) FROM {D} d JOIN {S} s ON s.id = d.subscription_id
    WHERE d.account_id = %(account)s AND d.state = %(queued)s AND NOT d.repeats_sent
        AND d.campaign_id IN (SELECT id FROM {C} WHERE category = %(marketing)s)
        AND s.customer_id = ANY(%(customers)s::bigint[]) AND NOT d.id = ANY(%(batch)s::bigint[])
    GROUP BY s.customer_id
"""


def marketing_counts(
    customers: set[int], *, now: datetime, queued: tuple[int, list[int]] | None = None
) -> tuple[Counter[int], frozenset[int]]:
    """Each customer's marketing messages sent (or maybe sent) in the cap's window, and the
    customers with more than one active chat.

    With `queued` = (account, batch): also the rows that account's dispatcher holds `queued`
    outside the batch, whose own decisions were made in earlier batches: a row decided while
    another of the customer's waits for its pacing slot must see it (the cap leaked there).
    Rows queued on other accounts are left to the fence at marking (cap_fence.py): counted
    here by both dispatchers, two rows queued at once would hold each other back.
    """
    if not customers:
        return Counter(), frozenset()
    since = now - timedelta(days=settings.MARKETING_CAP_DAYS)
    if connection.vendor == "postgresql":
        sent, waiting = _postgresql(customers, since, queued)
    else:
        sent, waiting = _portable(customers, since, queued)
    counts: Counter[int] = Counter()
    chats: Counter[int] = Counter()
    for customer_id, status, number in sent:
        counts[customer_id] += number
        chats[customer_id] += status == Subscription.Status.ACTIVE
    for customer_id, number in waiting:
        counts[customer_id] += number
    return counts, frozenset(c for c, active in chats.items() if active > 1)


Rows = tuple[list[tuple[int, str, int]], list[tuple[int, int]]]


def _postgresql(customers: set[int], since: datetime, queued: tuple[int, list[int]] | None) -> Rows:
    params = {"customers": pg_arrays.ints(customers), "marketing": MARKETING}
    with connection.cursor() as cursor:
        cursor.execute(SENT_SQL, {**params, "sent": list(SENT_OR_MAYBE), "since": since})
        sent = cursor.fetchall()
        waiting = []
        if queued is not None:
            account, batch = queued
            batch_ids = pg_arrays.ints(batch)
            extra = {"account": account, "queued": Delivery.State.QUEUED, "batch": batch_ids}
            cursor.execute(QUEUED_SQL, params | extra)
            waiting = cursor.fetchall()
    return sent, waiting


def _portable(customers: set[int], since: datetime, queued: tuple[int, list[int]] | None) -> Rows:
    """The same two queries through the ORM (SQLite has no arrays)."""
    marketing = Campaign.objects.filter(category=MARKETING).values("pk")
    sent = Delivery.objects.filter(
        subscription=OuterRef("pk"),
        campaign__in=marketing,
        state__in=SENT_OR_MAYBE,
        sent_at__gte=since,
        repeats_sent=False,
    )
    rows = Subscription.objects.filter(customer_id__in=customers).values_list(
        "customer_id", "status", _count(sent)
    )
    waiting: list[tuple[int, int]] = []
    if queued is not None:
        account, batch = queued
        waiting = list(
            Delivery.objects.filter(
                account=account,
                state=Delivery.State.QUEUED,
                campaign__in=marketing,
                repeats_sent=False,
                subscription__customer_id__in=customers,
            )
            .exclude(pk__in=batch)
            .values_list("subscription__customer_id")
            .annotate(n=Count("pk"))
            .order_by()
        )
    return list(rows), waiting


def _count(rows: "QuerySet[Delivery]") -> Subquery:
    # COUNT as a plain function: no GROUP BY, one number per subscription.
    return Subquery(rows.annotate(n=Func("pk", function="COUNT")).values("n"))
