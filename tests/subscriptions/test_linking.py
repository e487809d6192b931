import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from channels.events import EventKind
from subscriptions import replies
from subscriptions.models import ConsentEvent, Subscription
from subscriptions.services import StartOutcome, subscription_start
from subscriptions.tokens import order_token_issue
from tests.factories import ChannelAccountFactory, CustomerFactory, OrderFactory
from tests.subscriptions import payloads, receive, start, text

pytestmark = pytest.mark.django_db


def test_it_links_a_valid_token_to_the_customer_and_the_order(telegram, order):
    # given a subscribe link for the order
    token = order_token_issue(order)
    # when the messenger user presses Start with it
    [reply] = start(telegram, token, user="1001", locale="en", user_name="Ann")
    # then one active subscription links them to the customer and the order
    subscription = Subscription.objects.get()
    assert subscription.status == Subscription.Status.ACTIVE
    assert (subscription.account, subscription.platform_user_id) == (telegram, "1001")
    assert (subscription.customer, subscription.order) == (order.customer, order)
    assert subscription.source == "deep_link"
    assert subscription.topics() == ["menu", "surveys", "promotions"]
    assert subscription.last_inbound_at is not None
    # and the consent log records the opt-in with the token's payload only
    consent = ConsentEvent.objects.get()
    assert (consent.kind, consent.source) == ("opt_in", "deep_link")
    assert (consent.customer, consent.subscription) == (order.customer, subscription)
    assert token.startswith(consent.evidence) and consent.evidence != token
    # and the welcome says what comes, how to stop, with Settings and Unsubscribe buttons
    assert reply.platform_user_id == "1001"
    assert reply.message.text == replies.text("welcome", "en", order="A-1001")
    assert "STOP" in reply.message.text
    assert payloads(reply) == ["sub:settings", "sub:stop"]


@pytest.mark.parametrize(
    ("customer_locale", "platform_locale", "expected"),
    [
        ("ru", "en", "ru"),
        ("uk", "ru", "uk"),
        ("en", "uk", "en"),  # the shop's word about its customer wins
        ("de", "uk-UA", "uk"),  # a language we lack: the platform's
        ("", "ru", "ru"),
        ("de", "fr", "en"),  # neither: English
    ],
)
def test_it_welcomes_in_the_customers_language(
    telegram, customer_locale, platform_locale, expected
):
    order = OrderFactory(customer=CustomerFactory(locale=customer_locale))
    [reply] = start(telegram, order_token_issue(order), locale=platform_locale)
    assert reply.message.text == replies.text("welcome", expected, order=order.external_id)
    labels = [button.text for button in reply.message.buttons]
    assert labels == [
        replies.text("button.settings", expected),
        replies.text("button.unsubscribe", expected),
    ]


def test_it_writes_each_welcome_in_its_own_language():
    english = replies.text("welcome", "en", order="1")
    assert replies.text("welcome", "ru", order="1") != english
    assert replies.text("welcome", "uk", order="1") != english
    assert "СТОП" in replies.text("welcome", "ru", order="1")
    assert "СТОП" in replies.text("welcome", "uk", order="1")


def test_it_keeps_one_subscription_when_the_same_user_starts_again(telegram, order):
    # given a linked chat
    token = order_token_issue(order)
    start(telegram, token)
    # when the same user presses Start with the link again
    [reply] = start(telegram, token)
    # then nothing new is created, and the reply says they are already subscribed
    assert Subscription.objects.count() == 1
    assert ConsentEvent.objects.count() == 1
    assert reply.message.text == replies.text("already", "en", order=order.external_id)


def test_it_moves_the_link_to_the_customers_newer_order(telegram, order):
    start(telegram, order_token_issue(order))
    newer = OrderFactory(customer=order.customer, external_id="A-1002")
    [reply] = start(telegram, order_token_issue(newer))
    subscription = Subscription.objects.get()
    assert subscription.order == newer
    assert ConsentEvent.objects.count() == 1
    assert "A-1002" in reply.message.text


def test_it_refuses_a_second_user_on_the_same_account(telegram, order, settings):
    # given the link was used by the customer's chat
    token = order_token_issue(order)
    start(telegram, token, user="1001")
    # when a different user on the same bot presses Start with the same (forwarded) link
    [reply] = start(telegram, token, user="2002", locale="ru")
    # then nothing is linked for them, and they get a friendly refusal
    assert list(Subscription.objects.values_list("platform_user_id", flat=True)) == ["1001"]
    assert ConsentEvent.objects.count() == 1
    assert reply.platform_user_id == "2002"
    assert reply.message.text == replies.text("refused", "ru", shop_url=settings.SHOP_URL)


def test_it_refuses_a_second_user_even_with_another_of_the_customers_orders(telegram, order):
    start(telegram, order_token_issue(order), user="1001")
    other_order = OrderFactory(customer=order.customer)
    start(telegram, order_token_issue(other_order), user="2002")
    assert not Subscription.objects.filter(platform_user_id="2002").exists()


def test_it_refuses_to_move_a_linked_chat_to_another_customer(telegram, order):
    # given a chat linked to one customer
    start(telegram, order_token_issue(order), user="1001")
    # when it starts with a link to somebody else's order
    stranger = OrderFactory(customer=CustomerFactory())
    [reply] = start(telegram, order_token_issue(stranger), user="1001")
    # then it stays with its own customer and order
    subscription = Subscription.objects.get()
    assert (subscription.customer, subscription.order) == (order.customer, order)
    assert not stranger.customer.subscriptions.exists()
    assert "another chat" in reply.message.text


def test_it_links_the_same_token_on_another_platform(telegram, order):
    # given the customer subscribed on Telegram
    token = order_token_issue(order)
    start(telegram, token, user="1001")
    # when the same link's token arrives on Viber (another account)
    viber = ChannelAccountFactory(kind="viber")
    [reply] = start(viber, token, user="viber-user==")
    # then the customer is subscribed on both
    assert set(order.customer.subscriptions.values_list("account__kind", flat=True)) == {
        "telegram",
        "viber",
    }
    assert ConsentEvent.objects.filter(kind="opt_in").count() == 2
    assert reply.message.text == replies.text("welcome", "en", order=order.external_id)


@pytest.mark.parametrize(
    ("token", "key"),
    [("garbage", "invalid_link"), ("", "how_to_subscribe")],
    ids=["invalid", "missing"],
)
def test_it_answers_a_token_that_links_nothing_with_a_way_to_subscribe(
    telegram, settings, token, key
):
    settings.SHOP_URL = "https://meals.example"
    [reply] = start(telegram, token, locale="uk")
    assert not Subscription.objects.exists()
    assert reply.message.text == replies.text(key, "uk", shop_url="https://meals.example")
    [button] = reply.message.buttons
    assert button.url == "https://meals.example"


def test_it_says_an_expired_link_has_expired(telegram, order):
    token = order_token_issue(order, now=timezone.now() - timedelta(days=31))
    [reply] = start(telegram, token, locale="ru")
    assert not Subscription.objects.exists()
    assert reply.message.text.startswith("Извините, срок действия")


def test_it_greets_a_plain_start_from_a_subscribed_chat_without_changing_it(telegram, order):
    start(telegram, order_token_issue(order))
    [reply] = start(telegram, "")
    assert reply.message.text == replies.text("still_subscribed", "en")
    assert ConsentEvent.objects.count() == 1


def test_it_tells_an_unknown_user_who_writes_how_to_subscribe(telegram):
    [reply] = text(telegram, "hello?", user="3003", locale="ru")
    assert reply.platform_user_id == "3003"
    assert reply.message.text.startswith("Здравствуйте!")
    assert not Subscription.objects.exists()


def test_it_leaves_a_subscribers_own_messages_and_other_buttons_to_other_handlers(telegram, order):
    start(telegram, order_token_issue(order))
    assert text(telegram, "the soup was great") == []
    assert receive(telegram, EventKind.BUTTON, payload="survey:12:5") == []
    assert receive(telegram, EventKind.READ) == []


@pytest.mark.parametrize(
    ("kind", "fields"),
    [
        (EventKind.TEXT, {"text": "thanks!"}),
        (EventKind.BUTTON, {"payload": "survey:1:5"}),
        (EventKind.START, {"token": ""}),
    ],
)
def test_it_records_the_customers_last_message_time(telegram, order, kind, fields):
    # given a chat linked a day ago
    a_day_ago = timezone.now() - timedelta(days=1)
    start(telegram, order_token_issue(order), occurred_at=a_day_ago)
    # when the customer sends anything now
    now = timezone.now()
    receive(telegram, kind, occurred_at=now, **fields)
    # then the platform windows start again from now
    assert Subscription.objects.get().last_inbound_at == now


def test_it_never_moves_the_last_message_time_backwards(telegram, order):
    now = timezone.now()
    start(telegram, order_token_issue(order), occurred_at=now)
    text(telegram, "late redelivery", occurred_at=now - timedelta(hours=1))
    assert Subscription.objects.get().last_inbound_at == now


def test_it_links_when_allowing_messages_carries_a_subscribe_token(order):
    # VK's message_allow passes on the key given to its "allow messages" widget
    vk = ChannelAccountFactory(kind="vk")
    [reply] = receive(vk, EventKind.RESUBSCRIBED, token=order_token_issue(order))
    assert Subscription.objects.get().order == order
    assert reply.message.text == replies.text("welcome", "en", order=order.external_id)


def test_it_ignores_an_allow_messages_key_that_is_not_a_token():
    vk = ChannelAccountFactory(kind="vk")
    assert receive(vk, EventKind.RESUBSCRIBED, token="promo-widget") == []
    assert not Subscription.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_links_only_one_of_two_users_racing_with_the_same_link():
    # given one link, and two chats pressing Start with it at the same moment
    telegram = ChannelAccountFactory(kind="telegram")
    token = order_token_issue(OrderFactory())
    barrier = threading.Barrier(2)
    outcomes = []

    def press_start(user: str) -> None:
        try:
            barrier.wait()
            result = subscription_start(
                account=telegram, platform_user_id=user, token=token, occurred_at=timezone.now()
            )
            outcomes.append(result.outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=press_start, args=(user,)) for user in ("1", "2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then exactly one is linked and the other refused
    assert sorted(outcomes) == [StartOutcome.REFUSED, StartOutcome.SUBSCRIBED]
    assert Subscription.objects.count() == 1
    assert ConsentEvent.objects.count() == 1
