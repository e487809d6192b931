"""One bounded run of sending for one channel account, under its lease.

The main thread claims batches (rows become `queued`), applies the policies, renders, takes
the pacing slots that have come, commits those rows `sending` (marker.py) and records outcomes
in bulk; the sender (sender.py: one thread on libcurl's multi interface) only does HTTP. So
after a crash `unknown` is only what was really on the wire. The lease is kept by a heartbeat
thread (lease.py). A dropped database connection is retried in place (db_retry.py); a worker's
warm shutdown ends the run at once, handing back what it holds (shutdown.py).
"""

import logging
import math
import time
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from campaigns import policies
from campaigns.content import delivery_message, template_language, template_values
from campaigns.dispatch import claim, lanes, marker, outcomes, shutdown
from campaigns.dispatch.db_retry import with_db_retry
from campaigns.dispatch.journal import Journal
from campaigns.dispatch.lease import Lease, new_owner
from campaigns.dispatch.outcomes import Job, Outcome
from campaigns.dispatch.pacing import RecipientSpacing
from campaigns.dispatch.recovery import IDEMPOTENT_KINDS, Recovered, recover_account
from campaigns.dispatch.sender import Sender
from campaigns.fallback_events import fallbacks_sent
from campaigns.models import Delivery
from channels.errors import ConfigurationError, RetryAfter
from channels.models import ChannelAccount
from subscriptions.services import recipient_gone

log = logging.getLogger(__name__)
State = Delivery.State
FLUSH_EVERY = 0.2  # seconds: outcomes are committed at least this often
FLUSH_SIZE = 200
POLL = 0.05  # seconds the main thread waits for sends before its other duties
YIELD_EVERY = 25  # rows rendered between looks at the pacing slots that have come
IDLE_POLL = 0.05  # seconds between claims while a run waits for work (DISPATCH_IDLE_SECONDS)
SUBMIT_EVERY = 0.005  # seconds: how long due slots may wait to be taken together
LEAVE_WAIT = 0.02  # seconds at most to wait for just-marked sends to start


@dataclass
class RunStats:
    account_id: int
    owner: str
    states: dict[str, int] = field(default_factory=dict)  # outcomes recorded, by state
    stopped: str = ""  # why the run ended
    recovered: Recovered = field(default_factory=Recovered)

    def count(self, state: str) -> None:
        key = str(state)  # "sent", not State.SENT, in logs
        self.states[key] = self.states.get(key, 0) + 1


class Dispatcher:
    def __init__(
        self,
        account: ChannelAccount,
        *,
        owner: str | None = None,
        run_seconds: float | None = None,
        threads: int | None = None,
        lane: str = lanes.MAIN,
    ) -> None:
        self.account = account
        self.lane = lane
        self.handing_over = ""  # lanes.TO_BULK or TO_MAIN once a claim said so
        self.owner = owner or new_owner()
        self.run_seconds = settings.DISPATCH_RUN_SECONDS if run_seconds is None else run_seconds
        rate = account.effective_rate_limit * settings.DISPATCH_RATE_HEADROOM
        self.threads = threads or max(1, min(math.ceil(rate), settings.DISPATCH_MAX_THREADS))
        # About a second of sends per claim: policies run close to the send, a slow account
        # holds few claimed rows, and a paced one does not starve its senders while the main
        # thread works through a big batch.
        self.batch = max(self.threads, min(math.ceil(rate), settings.DISPATCH_BATCH_SIZE))
        # Threads start on the first send, so a run that finds the lease held costs nothing.
        idempotent = account.kind in IDEMPOTENT_KINDS
        self.sender = Sender(
            account, threads=self.threads, rate=rate, idempotent=idempotent,
            journal=None if idempotent else Journal(self.owner),
        )  # fmt: skip
        self.spacing = RecipientSpacing(self.sender.provider.per_recipient_interval)
        self.stats = RunStats(account.pk, self.owner)
        self.ready: deque[Job] = deque()
        self.done: list[Outcome] = []
        self.gone: list[tuple[Job, str]] = []
        self.submitted_at = 0.0  # monotonic time slots were last taken
        self.idle_since: float | None = None  # monotonic time the run last found nothing due
        # Until then an earlier run's sends may still hold a recipient (RecipientSpacing):
        # later, every send within the interval is this run's own, which it knows.
        self.earlier_runs_until = time.monotonic() + self.spacing.interval

    def run(self) -> RunStats:
        lease = Lease(self.account.pk, self.owner)
        if shutdown.requested.is_set() or not with_db_retry(lease.acquire):
            self._close()
            self.stats.stopped = "shutting down" if shutdown.requested.is_set() else "lease held"
            return self.stats
        lease.keep()
        try:
            self.stats.recovered = with_db_retry(recover_account, self.account, owner=self.owner)
            self._obey_pause(lease)
            self._loop(lease)
        finally:
            self._close()
            lease.stop_keeping()
            with_db_retry(lease.release)
        log.info("dispatch %s %s: %s", self.account.name, self.stats.stopped, self.stats.states)
        return self.stats

    def _close(self) -> None:
        self.sender.abort()
        self.sender.close()

    def _loop(self, lease: Lease) -> None:
        clock = time.monotonic
        deadline = clock() + self.run_seconds
        check_every = lease.ttl.total_seconds() / 3
        next_check = clock() + check_every
        last_flush, stop = clock(), ""
        try:
            while not (stop and not self.sender.in_flight):
                now = clock()
                if lease.lost.is_set():
                    stop = stop or "lease lost"
                if shutdown.requested.is_set():
                    stop = stop or "shutting down"
                if now >= next_check:  # the heartbeat thread re-reads the account's pause
                    next_check = now + check_every
                    self._obey_pause(lease)  # a reply may have met a 429 meanwhile
                stop = stop or ("time up" if now >= deadline else "")
                paused = self.sender.pacer.paused_for()
                if stop:  # nothing new on the wire; queued rows go back
                    self._release_ready()
                elif paused:  # a 429: nothing goes out until it has passed
                    self._release_ready()
                    stop = "paused" if now + paused >= deadline else ""
                else:
                    stop = self._feed()
                stop = self._collect(lease, POLL) or stop
                if len(self.done) >= FLUSH_SIZE or clock() - last_flush >= FLUSH_EVERY:
                    self._flush()
                    last_flush = clock()
        finally:
            self._release_ready()
            while self.sender.in_flight:
                self._collect(lease, None)
            self._flush()
        self.stats.stopped = stop

    def _obey_pause(self, lease: Lease) -> None:
        """Hold every slot until the account's pause (as the lease last read it) has passed."""
        if lease.paused_until is not None:
            left = (lease.paused_until - timezone.now()).total_seconds()
            if left > 0:
                self.sender.pacer.pause(left)

    def _feed(self) -> str:
        """Claim when the ready queue runs low and hand rows to free threads; "" to go on."""
        if len(self.ready) < self.batch // 2:
            fetched = self._prepare()
            if self.handing_over:
                self._release_ready()  # what this run rendered goes with the account
                return self.handing_over
            if not fetched and not self.ready and not self.sender.in_flight:
                return self._idle()
            self.idle_since = None
        if self.ready and self.sender.in_flight < self.threads and self._submit_now():
            return self._submit()
        return ""

    def _submit_now(self) -> bool:
        """Whether to take slots now. A busy account commits its rows `sending` some thirty at
        a time (once half its threads are free), not one statement per send; a slow platform,
        whose answers keep more than half the threads, at least every SUBMIT_EVERY."""
        return (
            self.sender.in_flight <= self.threads // 2
            or time.monotonic() - self.submitted_at >= SUBMIT_EVERY
        )

    def _idle(self) -> str:
        """Nothing is due: stay a moment for more ("" to go on), then stop.

        Triggered messages arrive as a stream (an order event each); a run that lingers
        takes each within IDLE_POLL, where stopping at once would cost a wake-up task, a lease,
        a recovery pass and a thread pool per event.
        """
        now = time.monotonic()
        if self.idle_since is None:
            self.idle_since = now
        if now - self.idle_since >= settings.DISPATCH_IDLE_SECONDS:
            return "nothing due"
        time.sleep(IDLE_POLL)
        return ""

    def _prepare(self) -> int:
        """Claim a batch, apply the policies, render what may go; returns rows claimed."""
        now = timezone.now()
        rows = with_db_retry(claim.claim, self.account, owner=self.owner, limit=self.batch, now=now)
        self.handing_over = lanes.hand_over(self.lane, rows, self.batch)
        if self.handing_over:
            with_db_retry(claim.release, [row.pk for row in rows], owner=self.owner)
            return 0
        if time.monotonic() < self.earlier_runs_until:  # an earlier run's sends count too
            recent = with_db_retry(claim.recent_sends, rows, within=self.spacing.interval, now=now)
            for recipient, seconds_ago in recent.items():
                self.spacing.seed(recipient, seconds_ago)
        settled: list[Outcome] = []
        jobs: list[Job] = []
        decisions = with_db_retry(policies.evaluate, rows, now=now)
        for n, (row, decision) in enumerate(zip(rows, decisions, strict=True)):
            if n % YIELD_EVERY == YIELD_EVERY - 1 and self.ready:
                self._submit()  # slots that came meanwhile: not only after the whole batch
            if decision.action == policies.SKIP:
                settled.append(outcomes.outcome(row, State.SKIPPED, decision.reason))
            elif decision.action == policies.DEFER:
                due = decision.due_at
                settled.append(outcomes.outcome(row, State.DEFERRED, decision.reason, due_at=due))
            else:
                try:
                    message = delivery_message(row)
                except Exception as error:  # user-written content must not stop the account
                    log.exception("delivery %s: content failed", row.pk)
                    settled.append(outcomes.outcome(row, State.FAILED, f"content: {error}"))
                    continue
                options = decision.options
                assert options is not None
                if options.template:  # WhatsApp outside its window: the template's own values
                    params, buttons = template_values(row)
                    options = replace(
                        options,
                        template_params=params,
                        template_buttons=buttons,
                        language=template_language(row) or options.language,
                    )
                recipient = row.subscription.platform_user_id
                job = Job(row, message, options, recipient, recheck_cap=decision.recheck_cap)
                jobs.append(job)  # stays `queued`, counted by the cap of every later decision
        self._record(settled)
        self.ready.extend(jobs)
        return len(rows)

    def _submit(self) -> str:
        """Take the pacing slots that have come, commit their rows `sending` in one statement
        and hand them to free threads; "" to go on, else why to stop."""
        later: list[Outcome] = []
        jobs: list[Job] = []
        pacer, now = self.sender.pacer, timezone.now()
        while self.ready and self.sender.in_flight + len(jobs) < self.threads:
            job = self.ready[0]
            wait_s = self.spacing.ready_in(job.recipient)
            if wait_s:  # the same customer got one a moment ago: due again once allowed
                self.ready.popleft()
                due = now + timedelta(seconds=min(wait_s, self.spacing.interval))
                later.append(outcomes.outcome(job.delivery, State.PENDING, due_at=due))
                continue
            if not pacer.take():
                break
            self.ready.popleft()
            self.spacing.start(job.recipient)
            jobs.append(job)
        self._record(later)
        if not jobs:
            return ""
        self.submitted_at = time.monotonic()
        answers = with_db_retry(marker.mark, jobs, account_id=self.account.pk, owner=self.owner)
        stop, refused, going = "", [], []
        for job in jobs:
            answer = answers[job.id]
            if not answer:
                going.append(job)
                continue
            pacer.cancel()
            self.spacing.done(job.recipient, None)
            if answer == marker.CAPPED:  # another account's dispatcher sent them one meanwhile
                refused.append(outcomes.outcome(job.delivery, State.SKIPPED, answer))
            elif answer == marker.LEASE_LOST:  # another owner took the account: start nothing
                refused.append(outcomes.released(job))
                stop = "lease lost"
            # WITHDRAWN: the row is no longer ours to send or to record
        departures = outcomes.Departures(len(going))
        for job in going:
            job.departures = departures
            self.sender.submit(job)
        # Until their requests start, the rows just committed are `sending` but not on the
        # wire: let the threads have the GIL now, not after this thread's next piece of work.
        departures.wait(LEAVE_WAIT)
        self._record(refused)
        return stop

    def _collect(self, lease: Lease, timeout: float | None) -> str:
        """Take finished sends; act on account-wide errors. Returns a reason to stop, or ""."""
        stop = ""
        waiting = self.ready and self.sender.in_flight < self.threads  # for a slot
        if waiting and timeout:  # wake for the next slot
            now = time.monotonic()
            next_submit = 0.0 if self._submit_now() else self.submitted_at + SUBMIT_EVERY - now
            timeout = min(timeout, max(self.sender.pacer.due_in(), next_submit))
        if not self.sender.in_flight:
            if timeout:  # nothing to take: wait for the slot, or out a pause
                time.sleep(timeout if waiting else min(self.sender.pacer.paused_for(), timeout))
            return stop
        for result in self.sender.take(timeout):
            self.spacing.done(result.job.recipient, result.started)
            self.done.append(result.outcome)
            if result.outcome.gone:
                self.gone.append((result.job, result.outcome.reason))
            error = result.error
            if isinstance(error, RetryAfter):
                with_db_retry(lease.pause, error.seconds)
                log.warning("%s rate limited for %ss: %s", self.account, error.seconds, error)
            elif isinstance(error, ConfigurationError):
                with_db_retry(lease.pause, settings.DISPATCH_CONFIG_PAUSE_SECONDS)
                log.error("%s misconfigured, sends stopped: %s", self.account, error.reason)
                stop = "configuration error"
        return stop

    def _flush(self) -> None:
        done, gone = self.done, self.gone
        self.done, self.gone = [], []
        self._record(done)
        for job, reason in gone:
            with_db_retry(
                recipient_gone, account=self.account, platform_user_id=job.recipient, reason=reason
            )

    def _record(self, results: list[Outcome]) -> None:
        with_db_retry(outcomes.record, results, owner=self.owner)
        for result in results:
            self.stats.count(result.state)
        fallbacks = [r.delivery_id for r in results if r.fallback_of and r.state == State.SENT]
        if fallbacks:
            with_db_retry(fallbacks_sent, fallbacks)

    def _release_ready(self) -> None:
        if self.ready:
            with_db_retry(claim.release, [job.id for job in self.ready], owner=self.owner)
            self.ready.clear()


def run_account(account_id: int, **options: object) -> RunStats | None:
    """Dispatch one account's due deliveries until done, out of time or handed to the other
    lane (the task's body)."""
    account = ChannelAccount.objects.filter(pk=account_id, enabled=True).first()
    if account is None:
        return None
    stats = Dispatcher(account, **options).run()  # type: ignore[arg-type]
    # A wake that came while we were finishing found the lease held; look once more now.
    for _ in range(3):
        if stats.stopped != "nothing due" or not claim.has_due_work(account.pk, timezone.now()):
            break
        stats = Dispatcher(account, **options).run()  # type: ignore[arg-type]
    return stats
