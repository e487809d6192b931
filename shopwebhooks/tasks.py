from celery import shared_task

from config.wakeups import woken
from shopwebhooks.delivery import deliver_due
from shopwebhooks.emit import DELIVER_TASK


@shared_task(name=DELIVER_TASK, ignore_result=True)
def deliver() -> int:
    """Woken when events are stored, and by beat every SHOP_WEBHOOK_SWEEP_SECONDS for retries."""
    woken(DELIVER_TASK)
    return deliver_due()
