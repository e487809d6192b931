"""Committing rows as `sending` the moment their pacing slot is granted.

A row is `sending` only while its request may be on the wire: a crash then leaves `unknown`
only what the platform may really have received, and every row still waiting for its slot
(`queued`) goes back to due. So a sending thread first waits for its slot, then asks the main
thread (which owns the run's database connection) to mark its row, and sends once the row is
committed. The main thread answers every ask that came meanwhile with one UPDATE, also between
the rows of a batch it is preparing, so an ask waits about a millisecond.

For a customer with chats on several accounts the same transaction applies the frequency
cap's fence (cap_fence.py) under that customer's lock.
"""

import threading
from contextlib import nullcontext
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from campaigns.dispatch import cap_fence, claim
from campaigns.dispatch.outcomes import Job

CAPPED = "frequency cap"
LEASE_LOST = "lease lost"
STOPPED = "run ending"


class LeaseLost(Exception):
    """Another owner took the account: this run must not start any other send."""


@dataclass(slots=True)
class Ask:
    """A sending thread's request to mark its job's row `sending`; it waits on `done`."""

    job: Job
    answer: str = ""  # "" marked `sending`: go; else why not
    done: threading.Event = field(default_factory=threading.Event)

    def reply(self, answer: str) -> None:
        self.answer = answer
        self.done.set()


def mark(jobs: list[Job], *, account_id: int, owner: str) -> dict[int, str]:
    """Mark the jobs' rows `sending` in one statement; each job's answer ("" = go)."""
    now = timezone.now()
    fenced = [job for job in jobs if job.recheck_cap]
    with transaction.atomic() if fenced else nullcontext():
        capped = cap_fence.held_back(fenced, now=now) if fenced else set()
        ids = [job.id for job in jobs if job.id not in capped]
        marked = claim.mark_sending(ids, account_id=account_id, owner=owner, now=now)
    answers = {}
    for job in jobs:
        if job.id in capped:
            answers[job.id] = CAPPED
        elif job.id in marked:
            answers[job.id] = ""
            job.sending_at = now
            job.delivery.attempts += 1
        else:
            answers[job.id] = LEASE_LOST
    return answers
