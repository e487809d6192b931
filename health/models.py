from django.db import models


class Heartbeat(models.Model):
    """A row a Celery worker writes, so /healthz can tell whether tasks are being executed."""

    name = models.CharField(max_length=100, unique=True)
    beat_at = models.DateTimeField()
    hostname = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return f"{self.name} @ {self.beat_at:%Y-%m-%d %H:%M:%S}"
