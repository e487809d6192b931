"""The sending side of a run: a small thread pool doing paced HTTP over one keep-alive session.

Pool threads never touch the database (the main thread owns it); each send's result goes
back through a queue, which is cheaper per send than waiting on futures.
"""

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from queue import Empty, SimpleQueue

from django.conf import settings
from django.db import connection
from django.utils import timezone

from campaigns.dispatch import outcomes
from campaigns.dispatch.outcomes import Job, Outcome
from campaigns.dispatch.pacing import Pacer
from channels.errors import ConfigurationError, RetryAfter, SendError
from channels.http import PlatformSession
from channels.models import ChannelAccount

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Result:
    job: Job
    outcome: Outcome
    started: float | None  # monotonic time the request left; None if it never did
    error: BaseException | None = None


class Sender:
    def __init__(
        self, account: ChannelAccount, *, threads: int, rate: float, idempotent: bool
    ) -> None:
        # Keep-alive connections for this run's threads (one each), closed when the run ends.
        self.session = PlatformSession()
        self.provider = account.provider(session=self.session)
        # Slots a little under the rate; never more than the platform's limit in any second.
        self.pacer = Pacer(rate, limit=account.effective_rate_limit)
        self.idempotent = idempotent
        self.in_flight = 0  # submitted, result not taken yet (main thread only)
        self._results: SimpleQueue[Result] = SimpleQueue()
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix=f"dispatch-{account.pk}")

    def submit(self, job: Job) -> None:
        self.in_flight += 1
        self._pool.submit(self._send, job)

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

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.session.close()

    # --- pool threads -------------------------------------------------------------------------
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
        if not self.pacer.wait():
            return Result(job, outcomes.unsent(job), None)
        started = time.monotonic()
        # sent_at is the moment just before the request left: the platform stamps the message
        # later, so a receipt up to its time (Messenger's read watermark) always covers it.
        leaving = timezone.now()
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
        self.pacer.sent(started, time.monotonic())
        return Result(job, outcomes.sent(job, str(message_id), leaving), started)
