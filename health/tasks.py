import socket

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from config import embedded_broker
from health.models import Heartbeat


@shared_task(name="health.heartbeat")
def heartbeat(name: str = "worker") -> None:
    """Record that a worker executed a task just now."""
    Heartbeat.objects.update_or_create(
        name=name, defaults={"beat_at": timezone.now(), "hostname": socket.gethostname()}
    )


@shared_task(name="health.broker_prune", ignore_result=True)
def broker_prune() -> int:
    """Embedded broker only: delete the messages it has handed out (it keeps them otherwise)."""
    if not embedded_broker.is_embedded(settings.CELERY_BROKER_URL):
        return 0
    return embedded_broker.prune(embedded_broker.path_of(settings.CELERY_BROKER_URL))
