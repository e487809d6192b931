"""The sending side of a run: paced HTTP over one keep-alive session, off the main thread.

Each job is a row the main thread committed as `sending` the moment its pacing slot came
(marker.py), and it is sent at once. Platforms reached over HTTP are sent to by one thread
driving libcurl's multi interface (channels/curl_loop.py), every send a greenlet; other
channels (the sandbox, e-mail) by a pool of threads, one per concurrent send
(DISPATCH_CURL_LOOP=false puts every channel on threads). Neither touches the database. Jobs go
out and results come back through two plain queues: a ThreadPoolExecutor's futures, locks and
wake-ups per submit were a sixth of the main thread's time per send.
"""

import logging
import threading
import time
from dataclasses import dataclass
from functools import partial
from queue import Empty, SimpleQueue

from django.conf import settings
from django.db import connection
from django.utils import timezone

from campaigns.dispatch import outcomes
from campaigns.dispatch.journal import Journal
from campaigns.dispatch.outcomes import Job, Outcome
from campaigns.dispatch.pacing import Pacer
from channels.curl_loop import CurlLoop, LoopSession
from channels.errors import ConfigurationError, RetryAfter, SendError
from channels.http import PlatformSession
from channels.models import ChannelAccount
from channels.providers import PROVIDERS

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Result:
    job: Job
    outcome: Outcome
    started: float | None  # monotonic time the request left; None if it never did
    error: BaseException | None = None


class Sender:
    def __init__(
        self,
        account: ChannelAccount,
        *,
        threads: int,
        rate: float,
        idempotent: bool,
        journal: Journal | None = None,
    ) -> None:
        self.over_http = PROVIDERS[account.kind].sends_over_http
        # Keep-alive connections for this run's sends, closed when the run ends.
        self._loop = CurlLoop() if self.over_http and settings.DISPATCH_CURL_LOOP else None
        self.session = PlatformSession() if self._loop is None else LoopSession(self._loop)
        self.provider = account.provider(session=self.session)
        # Slots a little under the rate; never more than the platform's limit in any second.
        self.pacer = Pacer(rate, limit=account.effective_rate_limit)
        self.idempotent = idempotent
        self.journal = journal
        self._aborted = False  # the run is ending: jobs not started yet go back to due
        self.in_flight = 0  # submitted, result not taken yet (main thread only)
        self._jobs: SimpleQueue[Job | None] = SimpleQueue()  # None: a thread's signal to stop
        self._results: SimpleQueue[Result] = SimpleQueue()
        self._max_threads = threads
        self._threads: list[threading.Thread] = []
        self._name = f"dispatch-{account.pk}"

    def submit(self, job: Job) -> None:
        self.in_flight += 1
        # Threads start as sends need them, so a run that sends little starts few; a loop's
        # one thread, with the first send.
        wanted = 1 if self._loop is not None else min(self.in_flight, self._max_threads)
        if len(self._threads) < wanted:
            name = f"{self._name}-{len(self._threads)}"
            work = self._work if self._loop is None else self._drive
            thread = threading.Thread(target=work, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        self._put(job)

    def _put(self, job: Job | None) -> None:
        self._jobs.put(job)
        if self._loop is not None:
            self._loop.wake()

    def take(self, timeout: float | None) -> list[Result]:
        """Finished sends: waits up to `timeout` for the first (None: until one finishes)."""
        if not self.in_flight:
            return []
        try:
            results = [self._results.get(timeout=timeout)]
        except Empty:
            return []
        while True:
            try:
                results.append(self._results.get_nowait())
            except Empty:
                break
        self.in_flight -= len(results)
        return results

    def abort(self) -> None:
        """Start no more sends: a job no thread has started comes back unsent; what is on the
        wire finishes."""
        self._aborted = True
        self.pacer.stop()

    def close(self) -> None:
        for _ in self._threads:
            self._put(None)
        for thread in self._threads:
            thread.join()
        self._threads.clear()
        self.session.close()
        if self._loop is not None:
            self._loop.close()
        if self.journal is not None:
            self.journal.close()

    # --- a thread per concurrent send (the sandbox, e-mail, DISPATCH_CURL_LOOP=false) --------
    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            self._send(job)

    # --- the loop's thread --------------------------------------------------------------------
    def _drive(self) -> None:
        """Start each job as it comes and carry their requests until told to stop and nothing
        is on the wire. The dispatcher hands over at most DISPATCH_MAX_THREADS at a time."""
        loop, stopping = self._loop, False
        assert loop is not None
        while True:
            while not stopping:
                try:
                    job = self._jobs.get_nowait()
                except Empty:
                    break
                if job is None:
                    stopping = True
                else:
                    loop.spawn(self._send, job)
            if stopping and not loop.running:
                return
            # Asleep first, then looked: a job put after the look finds the flag and wakes us.
            loop.sleeping = True
            idle = stopping or self._jobs.empty()
            try:
                loop.step(None if idle else 0)
            except Exception:
                # Whatever broke, no send is left waiting: each fails as a broken request.
                log.exception("%s: the send loop failed", self._name)
                loop.abandon("the send loop failed")
            loop.sleeping = False

    def _send(self, job: Job) -> None:
        try:
            result = self._send_one(job)
        except BaseException as error:  # a result must come back, or the run waits forever
            log.exception("delivery %s: sending failed", job.id)
            ambiguous = outcomes.classify(job, error, now=timezone.now(), idempotent=False)
            result = Result(job, ambiguous, None, error)
        finally:
            if connection.connection is not None:
                connection.close()  # only a provider that writes our DB (sandbox) opens one
        self._results.put(result)

    def _send_one(self, job: Job) -> Result:
        if self._aborted:
            self.pacer.cancel()
            return Result(job, outcomes.unsent(job), None)
        if job.departures is not None:
            job.departures.one_left()
        started = time.monotonic()
        # sent_at is the moment just before the request left: the platform stamps the message
        # later, so a receipt up to its time (Messenger's read watermark) always covers it.
        leaving = timezone.now()
        if self.journal is not None and self.over_http:
            # Noted just before the first byte of its first request is written: see journal.py.
            self.session.before_next_write(partial(self.journal.leaving, job.id))
        elif self.journal is not None:
            self.journal.leaving(job.id)  # no socket of ours to watch (sandbox, e-mail)
        try:
            message_id = self.provider.send(job.recipient, job.message, job.options)
        except Exception as error:
            self.pacer.sent(started, time.monotonic())
            if isinstance(error, RetryAfter):
                self.pacer.pause(error.seconds)  # before any other thread takes a slot
            elif isinstance(error, ConfigurationError):
                self.pacer.pause(settings.DISPATCH_CONFIG_PAUSE_SECONDS)
            elif not isinstance(error, SendError):
                log.exception("delivery %s: provider raised", job.id)
            outcome = outcomes.classify(job, error, now=timezone.now(), idempotent=self.idempotent)
            return Result(job, outcome, started, error)
        finally:
            self.session.before_next_write(None)
        self.pacer.sent(started, time.monotonic())
        return Result(job, outcomes.sent(job, str(message_id), leaving), started)
