"""The worker's broker consumer, reconnecting as quickly as the broker's transport options say.

Celery's consumer reconnects after a lost broker with kombu's default backoff (2 s, then 4,
6...), ignoring the intervals in broker_transport_options that publishers honour. After a
Redis restart the worker then took no task for 2-3 s (bench/chaos.py). This consumer passes
those intervals on; everything else is Celery's.
"""

from functools import partial

from celery.worker.consumer import Consumer as CeleryConsumer
from kombu import Connection

INTERVALS = ("interval_start", "interval_step", "interval_max")


class Consumer(CeleryConsumer):
    def ensure_connected(self, conn: Connection) -> Connection:
        options = conn.transport_options or {}
        intervals = {key: options[key] for key in INTERVALS if key in options}
        if intervals:
            conn.ensure_connection = partial(conn.ensure_connection, **intervals)
        return super().ensure_connected(conn)
