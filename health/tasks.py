import socket

from celery import shared_task
from django.utils import timezone

from health.models import Heartbeat


@shared_task(name="health.heartbeat")
def heartbeat(name: str = "worker") -> None:
    """Record that a worker executed a task just now."""
    Heartbeat.objects.update_or_create(
        name=name, defaults={"beat_at": timezone.now(), "hostname": socket.gethostname()}
    )
