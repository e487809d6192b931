"""Each platform's block signal, end to end: its real webhook, or its real send error.

Webhooks: the platform's own block event (PLATFORMS.md, "Block / unsubscribe"), signed, posted
to /hooks/<account>/. Send errors: the dispatcher sends to the fake platform server, told to
answer that recipient the way the platform answers someone who blocked the bot.
"""

import pytest
from django.utils import timezone

from campaigns.dispatch import run_account
from campaigns.models import Delivery
from channels.models import InboundEvent
from subscriptions.models import ConsentEvent, Subscription
from subscriptions.tokens import order_token_issue
from tests.factories import (
    CampaignFactory,
    ChannelAccountFactory,
    DeliveryFactory,
    OrderFactory,
    SubscriptionFactory,
)
from tests.subscriptions import start
from tests.subscriptions.hooks import payload, post_hook, sender

Status = Subscription.Status

# platform -> the fixture holding its block event
BLOCK_WEBHOOKS = {
    "telegram": "my_chat_member_kicked",  # new_chat_member.status "kicked"
    "viber": "unsubscribed",
    "vk": "message_deny",
    "whatsapp": "user_preferences_stop",  # user_preferences[].value "stop"
    "messenger": "optin_stop",  # optin.notification_messages_status STOP_NOTIFICATIONS
}


@pytest.mark.django_db
@pytest.mark.parametrize("kind", sorted(BLOCK_WEBHOOKS))
def test_it_marks_the_subscription_blocked_on_the_platforms_block_webhook(client, kind):
    # given a customer subscribed through a link on `kind`
    body = payload(kind, BLOCK_WEBHOOKS[kind])
    user = sender(kind, body)
    account = ChannelAccountFactory(kind=kind)
    start(account, order_token_issue(OrderFactory()), user=user)

    # when the platform posts its block event (twice: platforms redeliver)
    first = post_hook(client, account, body)
    again = post_hook(client, account, body)

    # then the subscription is blocked, with one blocked consent event citing the signal
    assert (first.status_code, again.status_code) == (200, 200)
    subscription = Subscription.objects.get(account=account, platform_user_id=user)
    assert subscription.status == Status.BLOCKED
    assert subscription.unsubscribed_at is not None
    blocked = ConsentEvent.objects.get(kind="blocked")
    assert (blocked.subscription, blocked.source) == (subscription, "platform")
    # citing the signal as the platform's parser read it
    signal = InboundEvent.objects.filter(account=account, kind="blocked").first()
    assert signal is not None and blocked.evidence == signal.reason != ""


@pytest.mark.django_db
def test_it_reads_messengers_stop_notifications_as_a_block_of_that_user(client):
    # given two Messenger subscribers
    account = ChannelAccountFactory(kind="messenger")
    body = payload("messenger", "optin_stop")
    stopping = sender("messenger", body)
    other = SubscriptionFactory(account=account, platform_user_id="24011849251814399")
    start(account, order_token_issue(OrderFactory()), user=stopping)
    assert body["entry"][0]["messaging"][0]["optin"]["notification_messages_status"] == (
        "STOP_NOTIFICATIONS"
    )

    # when one of them stops the page's marketing messages
    response = post_hook(client, account, body)

    # then only that one is blocked
    assert response.status_code == 200
    assert Subscription.objects.get(platform_user_id=stopping).status == Status.BLOCKED
    other.refresh_from_db()
    assert other.status == Status.ACTIVE


# What the fake answers a blocked recipient (see tests/channels/test_fake_platform.py).
SEND_ERRORS = {
    "telegram": "HTTP 403, Forbidden: bot was blocked by the user",
    "viber": "status 6, notSubscribed",
    "vk": "error 901, can't send messages for users without permission",
    "messenger": "error 551, this person isn't available right now",
    "whatsapp": "error 131026, message undeliverable",
}


@pytest.mark.django_db(transaction=True)  # the dispatcher sends from threads of its own
@pytest.mark.parametrize("kind", sorted(SEND_ERRORS))
def test_it_marks_the_subscription_blocked_when_the_platform_refuses_a_send(
    account_on, fake_platform, kind
):
    # given one due message each to two subscribers, inside every platform's window
    account = account_on(kind)
    campaign = CampaignFactory(content={"default": {"text": "Menu"}}, respect_quiet_hours=False)
    now = timezone.now()
    gone, kept = (
        SubscriptionFactory(account=account, order=None, last_inbound_at=now) for _ in range(2)
    )
    for subscription in (gone, kept):
        DeliveryFactory(campaign=campaign, subscription=subscription)
    # and the platform answers one of them as someone who blocked the bot
    fake_platform.block(gone.platform_user_id, platform=kind)

    # when the dispatcher runs
    run_account(account.pk)

    # then that delivery failed, its subscription is blocked with a consent event saying why
    failed = Delivery.objects.get(subscription=gone)
    assert failed.state == "failed"
    gone.refresh_from_db()
    assert gone.status == Status.BLOCKED
    blocked = ConsentEvent.objects.get(subscription=gone)
    assert (blocked.kind, blocked.source) == ("blocked", "platform")
    assert blocked.evidence.startswith("send failed: ")
    assert blocked.evidence == f"send failed: {failed.reason}"[:255]
    # and, a permanent failure, it was tried once and not again
    tried = [r for r in fake_platform.requests_for(kind) if r.recipient == gone.platform_user_id]
    assert len(tried) == 1
    # and the other subscriber got the message and stays subscribed
    assert Delivery.objects.get(subscription=kept).state == "sent"
    kept.refresh_from_db()
    assert kept.status == Status.ACTIVE
