"""A customer whose chat on an account is gone links a new one; the old one stays as history.

The rule (subscriptions/services.py): one ACTIVE chat per customer and account. While it is
active, another chat is refused; once it left, a link issued after the leaving links the new
chat, and the old one stays inactive whatever it does later.
"""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from channels.events import EventKind
from subscriptions import replies
from subscriptions.models import ConsentEvent, Subscription
from subscriptions.services import (
    LINK_PREDATES_LEAVING,
    LINKED_ELSEWHERE,
    StartOutcome,
    subscription_start,
)
from subscriptions.tokens import order_token_issue
from tests.subscriptions import press, receive, start, text

pytestmark = pytest.mark.django_db

Status = Subscription.Status


def statuses() -> dict[str, str]:
    return dict(Subscription.objects.values_list("platform_user_id", "status"))


def story(customer) -> list[tuple[str, str]]:
    return list(customer.consents.values_list("subscription__platform_user_id", "kind"))


def leave(account, how: str, user: str = "1001", **fields) -> None:
    if how == "stop":
        text(account, "stop", user=user, **fields)
    else:
        receive(account, EventKind.BLOCKED, user=user, reason="blocked the bot", **fields)


@pytest.mark.parametrize("how", ["stop", "block"])
def test_it_links_a_new_chat_once_the_customers_chat_has_left(telegram, order, how):
    # given the customer's first chat subscribed and then left
    start(telegram, order_token_issue(order), user="1001")
    leave(telegram, how)

    # when a new chat starts with a link issued since
    [reply] = start(telegram, order_token_issue(order), user="2002")

    # then the new chat is the customer's subscription, and the old one stays as history
    gone = Status.UNSUBSCRIBED if how == "stop" else Status.BLOCKED
    assert statuses() == {"1001": gone, "2002": Status.ACTIVE}
    new = Subscription.objects.get(platform_user_id="2002")
    assert (new.customer, new.order) == (order.customer, order)
    left = "opt_out" if how == "stop" else "blocked"
    assert story(order.customer) == [("1001", "opt_in"), ("1001", left), ("2002", "opt_in")]
    assert reply.message.text == replies.text("welcome", "en", order="A-1001")


def test_it_refuses_a_new_chat_while_the_customers_chat_is_active(telegram, order):
    start(telegram, order_token_issue(order), user="1001")

    result = subscription_start(
        account=telegram,
        platform_user_id="2002",
        token=order_token_issue(order),
        occurred_at=timezone.now(),
    )

    assert (result.outcome, result.reason) == (StartOutcome.REFUSED, LINKED_ELSEWHERE)
    assert statuses() == {"1001": Status.ACTIVE}


def test_it_refuses_a_link_issued_before_the_customers_chat_left(telegram, order, settings):
    # given a link from two hours ago, and the customer's chat leaving an hour ago
    now = timezone.now()
    old_link = order_token_issue(order, now=now - timedelta(hours=2))
    start(telegram, old_link, user="1001", occurred_at=now - timedelta(hours=2))
    leave(telegram, "stop", occurred_at=now - timedelta(hours=1))

    # when another chat starts with that old (perhaps forwarded) link
    result = subscription_start(
        account=telegram, platform_user_id="2002", token=old_link, occurred_at=now
    )
    [reply] = start(telegram, old_link, user="2002")

    # then it links nothing, and is told to fetch a fresh link from the order page
    assert (result.outcome, result.reason) == (StartOutcome.REFUSED, LINK_PREDATES_LEAVING)
    assert statuses() == {"1001": Status.UNSUBSCRIBED}
    assert reply.message.text == replies.text("expired_link", "en", shop_url=settings.SHOP_URL)


@pytest.mark.parametrize(
    "come_back",
    [
        lambda account, order: start(account, order_token_issue(order), user="1001"),
        lambda account, order: text(account, "START", user="1001"),
        lambda account, order: press(account, "sub:start", user="1001"),
        lambda account, order: start(account, "", user="1001", text="/start"),
    ],
    ids=["link", "keyword", "button", "plain-start"],
)
def test_it_keeps_the_old_chat_out_once_a_new_one_is_linked(telegram, order, come_back, settings):
    # given the customer left chat 1001 and linked chat 2002
    start(telegram, order_token_issue(order), user="1001")
    leave(telegram, "stop")
    start(telegram, order_token_issue(order), user="2002")
    before = ConsentEvent.objects.count()

    # when the old chat tries to come back
    [reply] = come_back(telegram, order)

    # then it stays out, nothing is consented, and it is told where the messages go now
    assert statuses() == {"1001": Status.UNSUBSCRIBED, "2002": Status.ACTIVE}
    assert ConsentEvent.objects.count() == before
    assert reply.message.text == replies.text("moved", "en", shop_url=settings.SHOP_URL)
    # with only the shop's link: no "Subscribe again" button that could not work
    assert [button.url for button in reply.message.buttons] == [settings.SHOP_URL]


def test_it_unblocks_an_old_chat_as_unsubscribed_once_a_new_one_is_linked(telegram, order):
    # given the customer blocked the bot in chat 1001 and then linked chat 2002
    start(telegram, order_token_issue(order), user="1001")
    leave(telegram, "block")
    start(telegram, order_token_issue(order), user="2002")

    # when they unblock the bot in the old chat
    assert receive(telegram, EventKind.RESUBSCRIBED, user="1001", reason="member") == []

    # then the unblock is recorded, and the old chat stays out
    assert statuses() == {"1001": Status.UNSUBSCRIBED, "2002": Status.ACTIVE}
    assert story(order.customer)[-1] == ("1001", "unblocked")


def test_it_stores_at_most_one_active_chat_per_customer_and_account(telegram, order):
    # the database holds the rule too, whatever code path writes
    Subscription.objects.create(customer=order.customer, account=telegram, platform_user_id="1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Subscription.objects.create(customer=order.customer, account=telegram, platform_user_id="2")
    Subscription.objects.create(
        customer=order.customer, account=telegram, platform_user_id="3", status=Status.BLOCKED
    )
    assert statuses() == {"1": Status.ACTIVE, "3": Status.BLOCKED}
