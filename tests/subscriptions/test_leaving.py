from datetime import timedelta

import pytest
from django.utils import timezone

from channels.events import EventKind
from subscriptions import replies
from subscriptions.models import ConsentEvent, Subscription
from subscriptions.services import customer_unsubscribe, recipient_gone
from subscriptions.tokens import order_token_issue
from tests.factories import (
    ChannelAccountFactory,
    CustomerFactory,
    OrderFactory,
    SubscriptionFactory,
)
from tests.subscriptions import payloads, press, receive, start, text

pytestmark = pytest.mark.django_db

Status = Subscription.Status


@pytest.fixture
def subscribed(telegram, order):
    """A chat linked through the order's link."""
    start(telegram, order_token_issue(order))
    return Subscription.objects.get()


def kinds(customer) -> list[str]:
    return list(customer.consents.values_list("kind", flat=True))


@pytest.mark.parametrize(
    ("word", "locale"),
    [
        ("STOP", "en"),
        ("stop", "en"),
        ("  Unsubscribe  ", "en"),
        ("stop!", "en"),
        ("/stop", "en"),
        ("/stop@comeback_test_bot", "en"),
        ("Стоп", "ru"),
        ("отписаться", "ru"),
        ("ОТПИСКА", "ru"),
        ("стоп", "uk"),
        ("Відписатися", "uk"),
        ("відписка", "uk"),
    ],
)
def test_it_unsubscribes_on_a_stop_word_in_every_language(telegram, word, locale):
    # given a customer who speaks `locale`, subscribed
    order = OrderFactory(customer=CustomerFactory(locale=locale))
    start(telegram, order_token_issue(order))
    # when they type the stop word
    [reply] = text(telegram, word)
    # then they are unsubscribed with an opt-out that quotes what they typed
    subscription = Subscription.objects.get()
    assert subscription.status == Status.UNSUBSCRIBED
    assert subscription.unsubscribed_at is not None
    opt_out = ConsentEvent.objects.get(kind="opt_out")
    assert (opt_out.source, opt_out.evidence) == ("keyword", word.strip())
    # and the confirmation, in their language, says how to come back
    assert reply.message.text == replies.text("stopped", locale)
    assert payloads(reply) == ["sub:start"]


@pytest.mark.parametrize("words", ["cancel", "stop sending me soup please", "stopped"])
def test_it_does_not_unsubscribe_on_other_words(subscribed, telegram, words):
    # "cancel" usually means the order, not the messages
    text(telegram, words)
    subscribed.refresh_from_db()
    assert subscribed.status == Status.ACTIVE


@pytest.mark.parametrize(
    "deliver",
    [
        lambda account: press(account, "sub:stop"),
        # Viber reply buttons come back as a text message equal to the payload
        lambda account: text(account, "sub:stop"),
    ],
    ids=["button", "button-as-text"],
)
def test_it_unsubscribes_on_the_unsubscribe_button(subscribed, telegram, deliver):
    [reply] = deliver(telegram)
    subscribed.refresh_from_db()
    assert subscribed.status == Status.UNSUBSCRIBED
    opt_out = ConsentEvent.objects.get(kind="opt_out")
    assert (opt_out.source, opt_out.evidence) == ("button", "sub:stop")
    assert reply.message.text == replies.text("stopped", "en")


def test_it_records_one_opt_out_however_often_stop_is_said(subscribed, telegram):
    text(telegram, "stop")
    [reply] = text(telegram, "stop")
    assert ConsentEvent.objects.filter(kind="opt_out").count() == 1
    assert reply.message.text == replies.text("stopped", "en")


def test_it_tells_an_unknown_user_there_is_nothing_to_stop(telegram):
    [reply] = text(telegram, "stop", user="9999")
    assert reply.message.text == replies.text("not_subscribed", "en")
    assert not ConsentEvent.objects.exists()


# What each platform's block signal is normalized to (PLATFORMS.md, "Block / unsubscribe").
BLOCK_SIGNALS = {
    "telegram": "my_chat_member: kicked",
    "messenger": "send error 551: This person isn't available right now",
    "viber": "unsubscribed",
    "vk": "message_deny",
    "whatsapp": "send error 131026: message undeliverable",
}


@pytest.mark.parametrize("kind", sorted(BLOCK_SIGNALS))
def test_it_marks_the_subscription_blocked_on_the_platforms_block_signal(order, kind):
    # given a customer subscribed on `kind`
    account = ChannelAccountFactory(kind=kind)
    start(account, order_token_issue(order), user="u-1")
    # when the platform says they blocked us (twice: platforms redeliver, signals repeat)
    first = receive(account, EventKind.BLOCKED, user="u-1", reason=BLOCK_SIGNALS[kind])
    receive(account, EventKind.BLOCKED, user="u-1", reason=BLOCK_SIGNALS[kind])
    # then the subscription is blocked, with one blocked consent event citing the signal
    assert Subscription.objects.get().status == Status.BLOCKED
    blocked = ConsentEvent.objects.get(kind="blocked")
    assert (blocked.source, blocked.evidence) == ("platform", BLOCK_SIGNALS[kind])
    # and nothing is sent to someone who blocked us
    assert first == []


def test_it_marks_the_recipient_blocked_when_a_send_says_it_is_gone(subscribed, telegram):
    recipient_gone(account=telegram, platform_user_id="1001", reason="403 bot was blocked")
    subscribed.refresh_from_db()
    assert subscribed.status == Status.BLOCKED
    assert ConsentEvent.objects.get(kind="blocked").evidence == "send failed: 403 bot was blocked"


def test_it_ignores_a_block_from_an_unknown_user(telegram):
    assert receive(telegram, EventKind.BLOCKED, user="404") == []
    assert not ConsentEvent.objects.exists()


@pytest.mark.parametrize("leave", ["stop", "block"])
def test_it_resubscribes_when_the_customer_starts_with_a_link_again(
    subscribed, telegram, order, leave
):
    # given a customer who left
    if leave == "stop":
        text(telegram, "stop")
    else:
        receive(telegram, EventKind.BLOCKED, reason="kicked")
    # when they press Start with a subscribe link again
    [reply] = start(telegram, order_token_issue(order))
    # then the same subscription is active again, with a new opt-in
    subscription = Subscription.objects.get()
    assert subscription.pk == subscribed.pk
    assert subscription.status == Status.ACTIVE
    assert subscription.unsubscribed_at is None
    assert ConsentEvent.objects.filter(kind="opt_in").count() == 2
    assert reply.message.text == replies.text("welcome", "en", order=order.external_id)


@pytest.mark.parametrize(
    "come_back",
    [lambda account: press(account, "sub:start"), lambda account: text(account, "START")],
    ids=["button", "keyword"],
)
def test_it_resubscribes_on_subscribe_again(subscribed, telegram, come_back):
    text(telegram, "stop")
    [reply] = come_back(telegram)
    assert Subscription.objects.get().status == Status.ACTIVE
    assert kinds(subscribed.customer) == ["opt_in", "opt_out", "opt_in"]
    assert reply.message.text == replies.text("welcome_back", "en")


def test_it_reactivates_on_the_platforms_unblock_and_says_welcome_back(subscribed, telegram):
    receive(telegram, EventKind.BLOCKED, reason="kicked")
    [reply] = receive(telegram, EventKind.RESUBSCRIBED, reason="member")
    assert Subscription.objects.get().status == Status.ACTIVE
    assert kinds(subscribed.customer) == ["opt_in", "blocked", "unblocked"]
    assert reply.message.text == replies.text("welcome_back", "en")


def test_it_keeps_an_opt_out_through_a_block_and_unblock(subscribed, telegram):
    # given the customer typed STOP and then also blocked the bot
    text(telegram, "stop")
    receive(telegram, EventKind.BLOCKED, reason="kicked")
    # when they unblock it on the platform
    replies_sent = receive(telegram, EventKind.RESUBSCRIBED, reason="member")
    # then their STOP still stands: unblocking is not opting in
    assert Subscription.objects.get().status == Status.UNSUBSCRIBED
    assert kinds(subscribed.customer) == ["opt_in", "opt_out", "blocked", "unblocked"]
    assert replies_sent == []


def test_it_says_nothing_when_an_active_chat_is_reported_subscribed(subscribed, telegram):
    # Viber sends "subscribed" with a linked chat's first message
    assert receive(telegram, EventKind.RESUBSCRIBED, reason="subscribed") == []
    assert kinds(subscribed.customer) == ["opt_in"]


def test_it_unsubscribes_all_of_a_customers_active_subscriptions(order):
    customer = order.customer
    SubscriptionFactory(customer=customer, account=ChannelAccountFactory(kind="telegram"))
    SubscriptionFactory(customer=customer, account=ChannelAccountFactory(kind="viber"))
    SubscriptionFactory(
        customer=customer, account=ChannelAccountFactory(kind="vk"), status=Status.BLOCKED
    )
    assert customer_unsubscribe(customer=customer) == 2
    assert set(customer.subscriptions.values_list("status", flat=True)) == {
        Status.UNSUBSCRIBED,
        Status.BLOCKED,
    }
    assert list(customer.consents.values_list("kind", "source")) == [("opt_out", "api")] * 2
    assert customer_unsubscribe(customer=customer) == 0


def test_it_tells_the_whole_story_in_the_consent_log(telegram, order):
    # given a customer's months with the bot, one step a day
    customer = order.customer
    day = iter(timezone.now() - timedelta(days=30 - n) for n in range(30))
    start(telegram, order_token_issue(order), occurred_at=next(day))
    press(telegram, "sub:topic:promotions", occurred_at=next(day))
    text(telegram, "стоп", occurred_at=next(day))
    start(telegram, order_token_issue(order), occurred_at=next(day))
    receive(telegram, EventKind.BLOCKED, reason="kicked", occurred_at=next(day))
    receive(telegram, EventKind.RESUBSCRIBED, reason="member", occurred_at=next(day))
    recipient_gone(account=telegram, platform_user_id="1001", reason="403")
    # then the log reads in order, each step with its source and the topics after it
    story = list(customer.consents.values_list("kind", "source", "topics"))
    assert story == [
        ("opt_in", "deep_link", ["menu", "surveys", "promotions"]),
        ("topic_change", "button", ["menu", "surveys"]),
        ("opt_out", "keyword", ["menu", "surveys"]),
        ("opt_in", "deep_link", ["menu", "surveys"]),
        ("blocked", "platform", ["menu", "surveys"]),
        ("unblocked", "platform", ["menu", "surveys"]),
        ("blocked", "platform", ["menu", "surveys"]),
    ]
