"""What happened to each send, and recording a batch of outcomes in one statement.

The dispatcher never parses a platform's answer: providers raise the few `channels.errors`
kinds, and `classify` maps each to the row's next state.
"""

import random
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, Q, When
from django.db.models.functions import Coalesce

from campaigns import pg_arrays
from campaigns.models import Delivery
from channels.errors import (
    ConfigurationError,
    RecipientGone,
    RejectedByPolicy,
    RetryAfter,
    Transient,
)
from channels.messages import RichMessage
from channels.providers.base import SendOptions

State = Delivery.State
REASON_MAX = Delivery._meta.get_field("reason").max_length or 255
# States an outcome may overwrite: ours in flight, or `unknown` set by a recovery that thought
# we were dead (if we learn the truth after all, the truth wins).
OPEN_STATES = (State.CLAIMED, State.QUEUED, State.SENDING, State.UNKNOWN)


class Departures:
    """Jobs handed to the sender together: `wait` returns once each one's request has
    started (the dispatcher waits for that: marker.py). One event for the group rather than
    one per job, which cost 2 us to make and one more wait per job."""

    def __init__(self, count: int) -> None:
        self._left = count
        self._lock = threading.Lock()
        self._all = threading.Event()
        if not count:
            self._all.set()

    def one_left(self) -> None:
        with self._lock:
            self._left -= 1
            if not self._left:
                self._all.set()

    def wait(self, timeout: float) -> bool:
        return self._all.wait(timeout)


@dataclass(slots=True)
class Job:
    """A row the policies let through, with its rendered message, on its way out."""

    delivery: Delivery
    message: RichMessage
    options: SendOptions
    recipient: str
    sending_at: datetime | None = None
    recheck_cap: bool = False  # see campaigns/dispatch/cap_fence.py
    departures: Departures | None = None  # the group it was handed over in, told as it starts

    @property
    def id(self) -> int:
        return self.delivery.pk


@dataclass(slots=True)
class Outcome:
    """The full new state of one row (every field explicit, so one UPDATE fits all kinds)."""

    delivery_id: int
    state: str
    reason: str
    provider_message_id: str
    sent_at: datetime | None
    due_at: datetime
    attempts: int
    gone: bool = False  # the recipient blocked us: mark the subscription after recording
    fallback_of: int | None = None  # a fallback's original (its send is told to the shop)


def outcome(
    d: Delivery,
    state: str,
    reason: str = "",
    *,
    provider_message_id: str = "",
    sent_at: datetime | None = None,
    due_at: datetime | None = None,
    attempts: int | None = None,
    gone: bool = False,
) -> Outcome:
    """The row's new state; due_at and attempts stay as they are unless given."""
    if d.fallback_of_id:
        reason = _with_fallback_cause(d.reason, reason)
    return Outcome(
        d.pk, state, reason[:REASON_MAX], provider_message_id, sent_at,
        d.due_at if due_at is None else due_at, d.attempts if attempts is None else attempts, gone,
        d.fallback_of_id,
    )  # fmt: skip


FALLBACK_CAUSE = "fallback after "  # campaigns/fallbacks.py writes it first in the reason


def _with_fallback_cause(previous: str, reason: str) -> str:
    """A fallback's reason keeps saying why it exists, whatever happens to it next."""
    cause = previous.split("; ")[0] if previous.startswith(FALLBACK_CAUSE) else ""
    return "; ".join(part for part in (cause, reason) if part)


def sent(job: Job, message_id: str, at: datetime) -> Outcome:
    return outcome(job.delivery, State.SENT, provider_message_id=message_id[:255], sent_at=at)


def released(job: Job) -> Outcome:
    """Never marked `sending` (a pause, a stop, the lease lost): back to due, untouched."""
    return outcome(job.delivery, State.PENDING)


def unsent(job: Job) -> Outcome:
    """Marked `sending`, but the platform refused it unseen (a 429): back to due, the attempt
    refunded."""
    d = job.delivery
    return outcome(d, State.PENDING, attempts=d.attempts - 1)


def classify(job: Job, error: BaseException, *, now: datetime, idempotent: bool) -> Outcome:
    """The row's next state after `error`. `idempotent`: the platform dedupes a resend (VK)."""
    d = job.delivery
    if isinstance(error, RetryAfter | ConfigurationError):
        return unsent(job)  # the account stops; this row did nothing wrong
    if isinstance(error, RecipientGone):
        return outcome(d, State.FAILED, error.reason, gone=True)
    if isinstance(error, RejectedByPolicy):
        return outcome(d, State.SKIPPED, error.reason)
    if isinstance(error, Transient):
        if not error.maybe_sent or idempotent:
            return retry(d, error.reason, now=now)
        # It may have reached the customer and a resend could duplicate it: never silently.
        return outcome(d, State.UNKNOWN, error.reason, sent_at=job.sending_at)
    # Anything else is a bug in a provider: we cannot tell whether the request left either.
    reason = f"error: {error!r}"
    if idempotent:
        return retry(d, reason, now=now)
    return outcome(d, State.UNKNOWN, reason, sent_at=job.sending_at)


def retry(d: Delivery, reason: str, *, now: datetime) -> Outcome:
    """Back to due after an exponential, jittered backoff; failed after the last attempt."""
    if d.attempts >= settings.DISPATCH_MAX_ATTEMPTS:
        return outcome(d, State.FAILED, f"gave up after {d.attempts} attempts: {reason}")
    return outcome(d, State.PENDING, reason, due_at=now + backoff(d.attempts))


def backoff(attempt: int) -> timedelta:
    base = settings.DISPATCH_BACKOFF_SECONDS * 2 ** max(attempt - 1, 0)
    # Jitter spreads a burst of failures (a platform outage) so they do not all return at once.
    seconds = min(base, settings.DISPATCH_BACKOFF_MAX_SECONDS) * random.uniform(0.5, 1.0)
    return timedelta(seconds=seconds)


def record(outcomes: list[Outcome], *, owner: str) -> int:
    """Write outcomes for rows this owner holds; one statement on PostgreSQL."""
    if not outcomes:
        return 0
    if connection.vendor == "postgresql":
        return _record_values(outcomes, owner)
    changed = 0
    with transaction.atomic():
        for o in outcomes:
            changed += Delivery.objects.filter(
                pk=o.delivery_id, claimed_by=owner, state__in=OPEN_STATES
            ).update(
                first_due_at=Case(
                    When(~Q(due_at=o.due_at), then=Coalesce("first_due_at", "due_at")),
                    default="first_due_at",
                ),
                state=o.state,
                reason=o.reason,
                provider_message_id=o.provider_message_id,
                sent_at=o.sent_at,
                due_at=o.due_at,
                attempts=o.attempts,
                claimed_by="" if o.state in (State.PENDING, State.DEFERRED) else owner,
            )
    return changed


# One statement for a whole batch of different outcomes. The columns travel as seven array
# literals (pg_arrays.py), not as VALUES rows: seven parameters instead of seven per row keeps
# the client-side query building flat (measured in bench/dispatch.py), and bulk_update's CASE
# WHEN grows with the square of the batch.
RECORD_SQL = f"""
    UPDATE {Delivery._meta.db_table} AS d SET state = v.state, reason = v.reason,
        provider_message_id = v.pid, sent_at = v.sent_at, due_at = v.due_at,
        attempts = v.attempts,
        first_due_at = CASE WHEN v.due_at <> d.due_at THEN COALESCE(d.first_due_at, d.due_at)
                            ELSE d.first_due_at END,
        claimed_by = CASE WHEN v.state IN ('pending', 'deferred') THEN '' ELSE d.claimed_by END
    FROM unnest(%s::bigint[], %s::varchar[], %s::varchar[], %s::varchar[],
                %s::timestamptz[], %s::timestamptz[], %s::integer[])
        AS v(id, state, reason, pid, sent_at, due_at, attempts)
    WHERE d.id = v.id AND d.claimed_by = %s
        AND d.state IN ('claimed', 'queued', 'sending', 'unknown')
"""  # noqa: S608 - the table name is ours; every value is a parameter


def _record_values(outcomes: list[Outcome], owner: str) -> int:
    params = [
        pg_arrays.ints(o.delivery_id for o in outcomes),
        pg_arrays.texts(o.state for o in outcomes),
        pg_arrays.texts(o.reason for o in outcomes),
        pg_arrays.texts(o.provider_message_id for o in outcomes),
        pg_arrays.times(o.sent_at for o in outcomes),
        pg_arrays.times(o.due_at for o in outcomes),
        pg_arrays.ints(o.attempts for o in outcomes),
        owner,
    ]
    with connection.cursor() as cursor:
        cursor.execute(RECORD_SQL, params)
        return cursor.rowcount
