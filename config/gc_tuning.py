"""The cyclic garbage collector's first threshold, raised in Celery workers (config/celery.py).

CPython runs its youngest collection every 700 container objects allocated and not yet freed,
and every tenth of those the next, every tenth of those the whole heap. A dispatch run makes
and drops tens of thousands of short-lived objects a second (rows, messages, outcomes): at 700
the collector ran some 80 times a second and walked the whole heap every two seconds, 630 ms
of a 30,000-delivery run (21 us per delivery, bench/dispatch.py). Reference counting frees
nearly all of them at once anyway; only objects in reference cycles wait for a collection,
and at GC_THRESHOLD they wait for at most that many allocations more.

The web processes keep Python's threshold: a request leaves cycles behind (request, response,
resolver), and at 20,000 single order events were no faster, if anything slower (bench/README).
"""

import gc

from config.env import env_int

DEFAULT = 20_000


def apply() -> None:
    """Set the youngest generation's threshold from GC_THRESHOLD (0: leave Python's)."""
    threshold = env_int("GC_THRESHOLD", DEFAULT)
    if threshold > 0:
        gc.set_threshold(threshold, *gc.get_threshold()[1:])
