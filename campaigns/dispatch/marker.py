"""Committing rows as `sending` the moment their pacing slot is granted.

A row is `sending` only while its request may be on the wire: a crash then leaves `unknown`
only what the platform may really have received, and every row still waiting for its slot
(`queued`) goes back to due. The dispatcher's main thread takes the slots that have come
(Pacer.take), marks those rows in one UPDATE and hands them to the sender, which sends them at
once; it waits until their requests have started before it takes the GIL back for its own
work. Between a row's commit and its request on the wire there is a thread's wake-up (and,
on a loaded box, the process being scheduled again): a row killed in that moment never left,
which the run's send journal (journal.py) tells whoever recovers it.

For a customer with chats on several accounts the same transaction applies the frequency
cap's fence (cap_fence.py) under that customer's lock.
"""

from contextlib import nullcontext

from django.db import transaction
from django.utils import timezone

from campaigns.dispatch import cap_fence, claim
from campaigns.dispatch.outcomes import Job
from campaigns.models import DispatchLease

CAPPED = "frequency cap"
LEASE_LOST = "lease lost"
WITHDRAWN = "withdrawn"  # changed by someone else meanwhile (an erasure cancelled it): drop it


def mark(jobs: list[Job], *, account_id: int, owner: str) -> dict[int, str]:
    """Mark the jobs' rows `sending` in one statement; each job's answer ("" = go)."""
    now = timezone.now()
    fenced = [job for job in jobs if job.recheck_cap]
    with transaction.atomic() if fenced else nullcontext():
        capped = cap_fence.held_back(fenced, now=now) if fenced else set()
        ids = [job.id for job in jobs if job.id not in capped]
        marked = claim.mark_sending(ids, account_id=account_id, owner=owner, now=now)
    # The lease is checked in the same statement, so all or none are marked for it: a row left
    # out while others went was taken from us some other way.
    unmarked = (
        LEASE_LOST if ids and not marked and not _still_ours(account_id, owner) else WITHDRAWN
    )
    answers = {}
    for job in jobs:
        if job.id in capped:
            answers[job.id] = CAPPED
        elif job.id in marked:
            answers[job.id] = ""
            job.sending_at = now
            job.delivery.attempts += 1
        else:
            answers[job.id] = unmarked
    return answers


def _still_ours(account_id: int, owner: str) -> bool:
    return DispatchLease.objects.filter(account_id=account_id, owner=owner).exists()
