"""A worker's warm shutdown, told to the dispatch runs in it.

On SIGTERM Celery stops taking tasks and waits for the running ones. A dispatch run would go on
for up to DISPATCH_RUN_SECONDS holding its lease; told here, it starts no more sends, hands its
queued rows and its lease back at once and lets only the requests on the wire finish, so
another worker takes the account over at the next tick.
"""

import threading

requested = threading.Event()


def request() -> None:
    requested.set()
