"""The frequency cap, checked again as marketing rows are marked `sending`, one customer at a time.

The policies count a customer's marketing messages when a batch is claimed. A customer with
chats on two accounts can be in two dispatchers' batches at that moment, each seeing room for
one more: both would send. For such rows (Decision.recheck_cap) the transaction that marks
them `sending` first takes each customer's advisory lock, in id order so two fences never
deadlock, then reads the count again: it sees what the other dispatcher committed as
`sending` before it let go of the lock. Rows past the cap are held back. Queued rows do not
count here (the policies counted them): two rows queued at once on two accounts would each
hold the other back, where one of them may go.
"""

from datetime import datetime

from django.db import connection

from campaigns.cap_counts import marketing_counts
from campaigns.dispatch.outcomes import Job
from campaigns.policies import FrequencyCap

LOCK_SPACE = 0x636F6D65  # "come": the advisory lock namespace of customers' caps


def held_back(jobs: list[Job], *, now: datetime) -> set[int]:
    """Ids of the `jobs` past the cap; call inside the marking transaction."""
    customers = sorted({job.delivery.subscription.customer_id for job in jobs})
    if not customers:
        return set()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # 32-bit keys: a wrapped id only makes two customers share a lock, never skip one.
            cursor.execute(
                "SELECT count(pg_advisory_xact_lock(%s, (c %% 2147483647)::int))"
                " FROM (SELECT unnest(%s::bigint[]) AS c ORDER BY 1) AS ids",
                [LOCK_SPACE, customers],
            )
    # SQLite: the marking transaction is IMMEDIATE, which serialises writers already.
    cap = FrequencyCap(*marketing_counts(set(customers), now=now))
    capped = set()
    for job in jobs:
        customer = job.delivery.subscription.customer_id
        if cap.reached(customer):
            capped.add(job.id)
        else:
            cap.count(customer)  # a second row of theirs in this batch counts too
    return capped
