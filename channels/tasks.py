import logging

from celery import shared_task

from channels.errors import RetryAfter, SendError, Transient
from channels.messages import RichMessage
from channels.models import ChannelAccount

log = logging.getLogger(__name__)

# Replies answer something the customer just did, so they go straight out; a short, bounded
# retry covers a blip without parking work in the broker (no long countdowns anywhere).
MAX_REPLY_RETRY_SECONDS = 5


@shared_task(name="channels.send_reply", bind=True, max_retries=3)
def send_reply(self, account_id: int, platform_user_id: str, message: dict) -> None:
    account = ChannelAccount.objects.filter(pk=account_id, enabled=True).first()
    if account is None:
        return
    try:
        account.provider().send(platform_user_id, RichMessage.from_dict(message))
    except (RetryAfter, Transient) as exc:
        if isinstance(exc, Transient) and exc.maybe_sent:
            log.warning("reply to %s on %s may have been sent: %s", platform_user_id, account, exc)
            return
        delay = min(getattr(exc, "seconds", 1.0), MAX_REPLY_RETRY_SECONDS)
        raise self.retry(exc=exc, countdown=delay) from exc
    except SendError as exc:
        log.warning("reply to %s on %s failed: %s", platform_user_id, account, exc.reason)
