"""Test sends: a marketer's own chat gets the current draft now, outside audience and policies.

Linking: admin gives the marketer a code ("TEST-7KQ2M9") and, for each connected messenger, a
deep link (and its QR code) that opens the bot with the code as the Start payload; they open it,
or send the code as a message, or type it in the sandbox chat. The chat it arrived from is the
test recipient: a Start carrying the code links at once (campaigns/inbound.py), a message with it
is found among the stored inbound events when the marketer asks.
"""

import secrets

import segno
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q
from django.utils import timezone

from campaigns.content import NoContent, delivery_message
from campaigns.models import Campaign, Delivery, TestRecipient, TestSend
from campaigns.preview import sample_order
from channels.errors import SendError
from channels.models import ChannelAccount, InboundEvent
from channels.providers.base import SendOptions
from subscriptions.models import Customer, Subscription

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
LINK_WINDOW = timezone.timedelta(days=1)


def test_recipient_create(*, user: AbstractBaseUser | None = None) -> TestRecipient:
    code = "TEST-" + "".join(secrets.choice(ALPHABET) for _ in range(6))
    return TestRecipient.objects.create(code=code, created_by=user)


def test_recipient_links(recipient: TestRecipient) -> list[tuple[ChannelAccount, str, str]]:
    """(account, deep link, QR code as inline SVG) for every enabled messenger account: opening
    the link starts the bot with the recipient's code."""
    links = []
    for account in ChannelAccount.objects.filter(enabled=True).exclude(kind="sandbox"):
        try:
            link = account.provider().deep_link(recipient.code)
        except (KeyError, NotImplementedError, ValueError):
            continue  # an account without what its links need (a bot name, a number)
        qr = segno.make(link, error="m").svg_inline(scale=4, border=2, omitsize=True)
        links.append((account, link, qr))
    return links


def test_recipient_link(*, recipient: TestRecipient) -> bool:
    """Link the recipient to the chat its code was sent from, if it arrived; True if linked."""
    if recipient.account_id is not None:
        return True
    event = (
        InboundEvent.objects.filter(
            Q(text__icontains=recipient.code) | Q(token=recipient.code),
            received_at__gte=recipient.created_at - LINK_WINDOW,
        )
        .order_by("-received_at")
        .first()
    )
    if event is None:
        return False
    recipient.account_id = event.account_id
    recipient.platform_user_id = event.platform_user_id
    recipient.name = event.user_name[:100]
    recipient.linked_at = timezone.now()
    recipient.save(update_fields=["account", "platform_user_id", "name", "linked_at"])
    return True


def campaign_test_send(
    *,
    campaign: Campaign,
    recipient: TestRecipient,
    language: str = "",
    user: AbstractBaseUser | None = None,
) -> TestSend:
    """Send `campaign`'s content (saved or a draft) to the recipient now and record it.

    A recent order fills the placeholders, as in the preview; links are tracked with delivery 0,
    so a click on a test is never counted.
    """
    account = recipient.account
    if account is None:
        raise ValueError("this test recipient is not linked to a chat yet")
    order = sample_order()
    customer = Customer(name=recipient.name or order.customer.name, locale=language)
    subscription = Subscription(
        account=account, customer=customer, platform_user_id=recipient.platform_user_id
    )
    delivery = Delivery(id=0, campaign=campaign, account=account, subscription=subscription)
    delivery._state.fields_cache["order"] = order  # the preview's sample order
    record = TestSend(campaign=campaign, recipient=recipient, sent_by=user, language=language)
    try:
        message = delivery_message(delivery)
        record.body = message.to_dict()
        options = SendOptions(category=campaign.category, language=language or "en")
        record.provider_message_id = account.provider().send(
            recipient.platform_user_id, message, options
        )
    except (NoContent, SendError) as exc:
        record.error = (str(exc) or type(exc).__name__)[:255]
    if campaign.pk is not None:
        record.save()
    return record
