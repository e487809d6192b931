"""The ESP's tracking webhooks, as anymail normalizes them, fed into our receipts and consent.

anymail verifies each ESP's webhook (basic auth with ANYMAIL_WEBHOOK_SECRET, and the ESP's own
signature where it has one) and sends its `tracking` signal; this receiver only translates:
delivered and opened become the same receipts as the messengers' (stored as inbound events, so
a redelivered webhook counts once), a bounce, rejection or spam complaint marks the address
blocked, an unsubscribe at the ESP ends the subscription.
"""

import logging
from typing import Any

from anymail.signals import AnymailTrackingEvent
from django.utils import timezone

from campaigns.models import Delivery
from channels.inbound import inbound_event_process
from channels.models import ChannelAccount, InboundEvent
from subscriptions.models import Subscription
from subscriptions.services import subscription_stop

log = logging.getLogger(__name__)
RECEIPTS = {"delivered": "delivered", "opened": "read", "clicked": "read"}
BLOCKS = {"bounced": "bounced", "rejected": "rejected", "complained": "spam complaint"}
ESP_SOURCE = "esp"


def email_tracking(sender: Any, event: AnymailTrackingEvent, esp_name: str, **_: Any) -> None:
    """anymail's `tracking` signal receiver (connected in campaigns/apps.py)."""
    address = (event.recipient or "").strip().lower()
    account = _account(event.message_id or "", address)
    if account is None or not address:
        log.info("%s %s for an address we do not send to", esp_name, event.event_type)
        return
    kind = RECEIPTS.get(event.event_type)
    if event.event_type in BLOCKS:
        kind = "blocked"
    if kind is not None:
        reason = BLOCKS.get(event.event_type, "")
        detail = event.description or event.mta_response or ""
        stored, _ = InboundEvent.objects.get_or_create(
            account=account,
            event_id=(event.event_id or f"{event.message_id}:{event.event_type}")[:255],
            defaults={
                "kind": kind,
                "platform_user_id": address,
                "occurred_at": event.timestamp or timezone.now(),
                "message_ids": [event.message_id] if event.message_id else [],
                "reason": f"{esp_name} {reason}: {detail}"[:255] if reason else "",
            },
        )
        inbound_event_process(event=stored)
    elif event.event_type == "unsubscribed":
        for subscription in Subscription.objects.filter(account=account, platform_user_id=address):
            subscription_stop(subscription=subscription, source=ESP_SOURCE, evidence=esp_name)


def _account(message_id: str, address: str) -> ChannelAccount | None:
    """The e-mail account that sent `message_id`, else the one the address is subscribed on."""
    if message_id:
        sent = Delivery.objects.filter(
            account__kind="email", provider_message_id=message_id.strip("<>")
        ).select_related("account")
        delivery = sent.first()
        if delivery is not None:
            return delivery.account
    subscription = (
        Subscription.objects.filter(account__kind="email", platform_user_id=address)
        .select_related("account")
        .first()
    )
    return subscription.account if subscription else None
