"""Low-score alerts to the shop's staff in a messenger chat, beside e-mail and webhooks.

SURVEY_ALERT_CHATS lists "<channel account name>:<the staff chat's platform user id>" (e.g. a
Telegram group the bot is in: "shop-telegram:-1001234567890"). The alert goes through the
account's provider like any service message; a chat that cannot be reached is logged.
"""

import logging

from django.conf import settings

from channels.errors import SendError
from channels.messages import RichMessage
from channels.models import ChannelAccount
from channels.providers.base import SendOptions

log = logging.getLogger(__name__)


def staff_chats() -> list[tuple[str, str]]:
    """(account name, chat id) pairs from the setting; malformed entries are skipped, logged."""
    chats = []
    for entry in settings.SURVEY_ALERT_CHATS:
        account, _, chat = entry.partition(":")
        if account and chat:
            chats.append((account, chat))
        else:
            log.error("SURVEY_ALERT_CHATS entry %r is not <account name>:<chat id>", entry)
    return chats


def staff_chats_tell(text: str) -> int:
    """Send `text` to every staff chat; how many took it."""
    told = 0
    for name, chat in staff_chats():
        account = ChannelAccount.objects.filter(name=name, enabled=True).first()
        if account is None:
            log.error("SURVEY_ALERT_CHATS names %r: no such enabled account", name)
            continue
        try:
            account.provider().send(chat, RichMessage(text=text), SendOptions(category="service"))
        except SendError as exc:
            log.error("low-score alert to %s:%s not sent: %s", name, chat, exc)
            continue
        told += 1
    return told
