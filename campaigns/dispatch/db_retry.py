"""Riding out a dropped database connection inside a dispatch run instead of crashing it.

A run that crashes on `OperationalError: the connection is closed` leaves its rows for the
next owner, which waits for the lease to expire; rows it had in fact sent end `unknown`. Every
database step of a run is one statement or one transaction that can be repeated, so on a
connection error the run closes the broken connection, waits a little and does the step again:
sending resumes within a backoff step of the server being back.
"""

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection

log = logging.getLogger(__name__)
T = TypeVar("T")
FIRST_WAIT, MAX_WAIT = 0.05, 0.5  # seconds: quick to notice the server back, never a storm


class GaveUp(Exception):
    """The database stayed away longer than DISPATCH_DB_RETRY_SECONDS, or the run was told to
    stop while waiting for it."""


def with_db_retry(
    step: Callable[..., T], *args: object, stop: threading.Event | None = None, **kwargs: object
) -> T:
    """`step(*args, **kwargs)`, repeated on connection errors until it succeeds."""
    wait, deadline = FIRST_WAIT, time.monotonic() + settings.DISPATCH_DB_RETRY_SECONDS
    while True:
        try:
            return step(*args, **kwargs)
        except (OperationalError, InterfaceError) as error:
            if connection.in_atomic_block:
                raise  # the transaction's owner repeats the whole of it
            connection.close()  # the next query opens a new connection
            if time.monotonic() + wait > deadline or (stop is not None and stop.is_set()):
                raise GaveUp(str(error)) from error
            log.warning("database unavailable (%s); retrying in %.2fs", error, wait)
            time.sleep(wait)
            wait = min(wait * 2, MAX_WAIT)
