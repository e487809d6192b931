"""Beat's own heartbeat: the scheduler records its tick, so /healthz can tell beat from worker."""

import socket
import time

from celery.beat import PersistentScheduler

from config.celery import HEALTH_HEARTBEAT_SECONDS


class HeartbeatScheduler(PersistentScheduler):
    """Celery's default scheduler, recording a `beat` heartbeat as often as beat sends the
    worker's (HEALTH_HEARTBEAT_SECONDS)."""

    every = HEALTH_HEARTBEAT_SECONDS
    _last = 0.0

    def tick(self, *args, **kwargs) -> float:
        interval = super().tick(*args, **kwargs)
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            self._record()
        return min(interval, self.every)

    def _record(self) -> None:
        import django

        django.setup()  # beat does not set Django up itself
        from django.db import DatabaseError, close_old_connections
        from django.utils import timezone

        from health.models import Heartbeat

        try:
            Heartbeat.objects.update_or_create(
                name="beat",
                defaults={"beat_at": timezone.now(), "hostname": socket.gethostname()},
            )
        except DatabaseError:
            close_old_connections()  # the next tick tries again on a fresh connection
