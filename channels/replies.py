"""Sending one reply (a welcome, an answer to a button) under the account's platform pause.

Replies answer something the customer just did, so they go straight out, but never while the
platform has told the account to stop (ChannelAccount.paused_until, written by whichever
sender met the 429 - the campaign dispatcher or a reply). A paused or briefly failing reply
is tried again after a few seconds at most, until it is REPLY_MAX_AGE_SECONDS old: then it is
dropped and logged, because a welcome that arrives much later confuses more than it helps.
"""

import logging
from datetime import UTC, datetime

from django.conf import settings
from django.utils.module_loading import import_string

from channels.errors import ConfigurationError, RecipientGone, RetryAfter, SendError, Transient
from channels.messages import RichMessage
from channels.models import ChannelAccount

log = logging.getLogger(__name__)
# The longest countdown a re-queued reply gets (no long ETAs parked in the broker).
MAX_RETRY_SECONDS = 5.0
TRANSIENT_RETRY_SECONDS = 1.0


def reply_send(
    *, account_id: int, platform_user_id: str, message: dict, first_tried: float, now: float
) -> float | None:
    """Send the reply unless the account is paused; the seconds to wait before trying again,
    or None when it is done with (sent, dropped or failed for good). Times are epoch seconds."""
    account = ChannelAccount.objects.filter(pk=account_id, enabled=True).first()
    if account is None:
        return None
    paused = account.paused_for(datetime.fromtimestamp(now, tz=UTC))
    if paused:
        return _later(account, platform_user_id, paused, first_tried, now, "account paused")
    try:
        account.provider().send(platform_user_id, RichMessage.from_dict(message))
    except RetryAfter as exc:
        # Every sender on the account obeys it, the running dispatcher from its next heartbeat.
        ChannelAccount.objects.filter(pk=account.pk).pause(exc.seconds)
        return _later(account, platform_user_id, exc.seconds, first_tried, now, exc.reason)
    except Transient as exc:
        if exc.maybe_sent:  # it may have arrived: a resend could say it twice
            log.warning("reply to %s on %s may have been sent: %s", platform_user_id, account, exc)
            return None
        wait = TRANSIENT_RETRY_SECONDS
        return _later(account, platform_user_id, wait, first_tried, now, exc.reason)
    except RecipientGone as exc:
        log.info("reply to %s on %s: recipient gone: %s", platform_user_id, account, exc.reason)
        recipient_gone(account=account, platform_user_id=platform_user_id, reason=exc.reason)
    except ConfigurationError as exc:
        log.error("reply to %s on %s: account misconfigured: %s", platform_user_id, account, exc)
    except SendError as exc:
        log.warning("reply to %s on %s failed: %s", platform_user_id, account, exc.reason)
    return None


def _later(
    account: ChannelAccount, user: str, wait: float, first_tried: float, now: float, why: str
) -> float | None:
    """`wait` capped to a few seconds, or None (dropped) once the reply would be too old."""
    if now + wait - first_tried > settings.REPLY_MAX_AGE_SECONDS:
        log.warning(
            "reply to %s on %s dropped: %s, and it would be older than %ss",
            user, account, why, settings.REPLY_MAX_AGE_SECONDS,
        )  # fmt: skip
        return None
    return min(wait, MAX_RETRY_SECONDS)


def recipient_gone(*, account: ChannelAccount, platform_user_id: str, reason: str) -> None:
    """Tell the app that owns subscriptions (settings.RECIPIENT_GONE_HANDLER) the user left."""
    path = settings.RECIPIENT_GONE_HANDLER
    if path:
        import_string(path)(account=account, platform_user_id=platform_user_id, reason=reason)
