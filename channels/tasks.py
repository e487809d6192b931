import datetime as dt
import time

from celery import shared_task
from django.conf import settings

from channels.inbound import INBOUND_TASK, inbound_events_drain
from channels.replies import reply_send
from config.wakeups import woken


# max_retries=None: a reply is bounded by its age (REPLY_MAX_AGE_SECONDS), not by a count, and
# each retry waits a few seconds at most (channels/replies.py).
@shared_task(name="channels.send_reply", bind=True, max_retries=None, ignore_result=True)
def send_reply(
    self, account_id: int, platform_user_id: str, message: dict, first_tried: float | None = None
) -> None:
    """Send one reply; re-queued shortly while the account is paused or the platform blinks."""
    first_tried = first_tried or time.time()
    wait = reply_send(
        account_id=account_id,
        platform_user_id=platform_user_id,
        message=message,
        first_tried=first_tried,
        now=time.time(),
    )
    if wait is not None:
        # The reply's age travels with it, so the bound holds across every retry.
        again = {"account_id": account_id, "platform_user_id": platform_user_id}
        again |= {"message": message, "first_tried": first_tried}
        raise self.retry(countdown=wait, args=(), kwargs=again)


@shared_task(name=INBOUND_TASK, ignore_result=True)
def inbound_drain(stream: int | None = None, after: int = 0) -> int:
    """Woken by the webhook view (once per burst and stream): handle the events it stored for
    a worker in that stream (above event id `after`: a drain going on with a long backlog)."""
    woken(INBOUND_TASK, key="" if stream is None else str(stream))
    return inbound_events_drain(stream=stream, after=after)


@shared_task(name="channels.inbound_sweep", ignore_result=True)
def inbound_sweep() -> int:
    """Beat, every INBOUND_SWEEP_SECONDS: deferred events whose wake-up was lost, or whose
    handling failed, older than that."""
    return inbound_events_drain(older_than=dt.timedelta(seconds=settings.INBOUND_SWEEP_SECONDS))
