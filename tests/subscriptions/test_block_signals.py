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

# platform -> the fixture holding its block event. Messenger and WhatsApp have none
# (PLATFORMS.md): their block shows as a send error, below.
BLOCK_WEBHOOKS = {
    "telegram": "my_chat_member_kicked",  # new_chat_member.status "kicked"
    "viber": "unsubscribed",
    "vk": "message_deny",
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


# platform -> (its "stop marketing messages" webhook, its "resume" one)
MARKETING_WEBHOOKS = {
    "whatsapp": ("user_preferences_stop", "user_preferences_resume"),  # value "stop"/"resume"
    "messenger": ("optin_stop", "optin_resume"),  # notification_messages_status
}


@pytest.mark.django_db
@pytest.mark.parametrize("kind", sorted(MARKETING_WEBHOOKS))
def test_a_platforms_marketing_stop_turns_off_marketing_topics_only(client, kind):
    # given two subscribers on `kind`, one of them linked through a link
    stop, resume = (payload(kind, name) for name in MARKETING_WEBHOOKS[kind])
    user = sender(kind, stop)
    account = ChannelAccountFactory(kind=kind)
    start(account, order_token_issue(OrderFactory()), user=user)
    other = SubscriptionFactory(account=account)

    # when they stop the business's marketing messages on the platform (redelivered once)
    assert post_hook(client, account, stop).status_code == 200
    assert post_hook(client, account, stop).status_code == 200

    # then they still get service messages and surveys, but no menu or promotions
    subscription = Subscription.objects.get(account=account, platform_user_id=user)
    assert subscription.status == Status.ACTIVE
    assert set(subscription.topics()) == {"surveys"}
    change = ConsentEvent.objects.get(subscription=subscription, kind="topic_change")
    assert (change.source, change.evidence) == ("platform", "stopped marketing messages")
    other.refresh_from_db()
    assert set(other.topics()) == {"menu", "surveys", "promotions"}

    # and when they resume them, the marketing topics are back
    assert post_hook(client, account, resume).status_code == 200
    subscription.refresh_from_db()
    assert set(subscription.topics()) == {"menu", "surveys", "promotions"}


@pytest.mark.django_db
def test_a_whatsapp_send_failed_for_stopped_marketing_turns_off_marketing_topics(client):
    # given a WhatsApp customer, and the status webhook of a template refused with 131050
    body = payload("whatsapp", "status_failed_131050")
    user = body["entry"][0]["changes"][0]["value"]["statuses"][0]["recipient_id"]
    account = ChannelAccountFactory(kind="whatsapp")
    start(account, order_token_issue(OrderFactory()), user=user)

    # when it arrives
    assert post_hook(client, account, body).status_code == 200

    # then the chat stays, without the menu and promotions
    subscription = Subscription.objects.get(account=account, platform_user_id=user)
    assert (subscription.status, set(subscription.topics())) == (Status.ACTIVE, {"surveys"})


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
