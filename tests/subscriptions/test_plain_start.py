"""A Start without a token from a chat that left: a way back only where Start is a real press.

Telegram's /start and VK's Start button are pressed by the customer; Viber's
conversation_started, a Messenger referral and the sandbox page's start fire when a chat is
merely opened (`Provider.start_is_explicit`). WhatsApp has no Start: typing START is its way.
"""

import pytest

from channels.events import EventKind
from channels.providers import LINKED_KINDS, PROVIDERS
from subscriptions import replies
from subscriptions.models import ConsentEvent, Subscription
from subscriptions.tokens import order_token_issue
from tests.factories import ChannelAccountFactory
from tests.subscriptions import payloads, receive, start, text
from tests.subscriptions.hooks import payload, post_hook, sender

pytestmark = pytest.mark.django_db

Status = Subscription.Status
EXPLICIT = {"telegram", "vk", "whatsapp"}


def test_it_knows_which_platforms_start_is_the_customers_own_press():
    linked = {kind: PROVIDERS[kind] for kind in LINKED_KINDS}
    assert {kind for kind, cls in linked.items() if cls.start_is_explicit} == EXPLICIT


def kinds(subscription: Subscription) -> list[tuple[str, str, str]]:
    return list(subscription.consents.values_list("kind", "source", "evidence"))


def left(kind: str, order, how: str) -> Subscription:
    """A chat on a `kind` account that subscribed, then left by STOP or by blocking us."""
    account = ChannelAccountFactory(kind=kind)
    start(account, order_token_issue(order))
    if how == "stop":
        text(account, "stop")
    else:
        receive(account, EventKind.BLOCKED, reason="blocked the bot")
    return Subscription.objects.get(account=account)


@pytest.mark.parametrize("how", ["stop", "block"])
@pytest.mark.parametrize("kind", sorted(LINKED_KINDS))
def test_it_resubscribes_on_a_plain_start_only_where_start_is_pressed(order, kind, how):
    # given a chat that left
    subscription = left(kind, order, how)
    before = subscription.status

    # when a Start without a token arrives from it
    [reply] = start(subscription.account, "", text="/start")

    # then an explicit Start brings it back with an opt-in citing the Start...
    subscription.refresh_from_db()
    if kind in EXPLICIT:
        assert subscription.status == Status.ACTIVE
        assert subscription.unsubscribed_at is None
        assert kinds(subscription)[-1] == ("opt_in", "start", "/start")
        assert reply.message.text == replies.text("welcome_back", "en")
        assert payloads(reply) == ["sub:settings", "sub:stop"]
    # ...while a chat merely opened changes nothing and offers the way back
    else:
        assert subscription.status == before
        assert [k for k, _, _ in kinds(subscription)][-1] != "opt_in"
        assert reply.message.text == replies.text("come_back", "en")
        assert payloads(reply) == ["sub:start"]


def test_it_keeps_an_active_chat_as_it_is_on_a_plain_start(order):
    telegram = ChannelAccountFactory(kind="telegram")
    start(telegram, order_token_issue(order))

    [reply] = start(telegram, "", text="/start")

    assert ConsentEvent.objects.count() == 1
    assert reply.message.text == replies.text("still_subscribed", "en")


def test_it_keeps_a_left_chat_out_when_the_customer_subscribed_from_another(order, settings):
    # given the customer left in chat 1001 and subscribed from chat 2002 with a fresh link
    telegram = ChannelAccountFactory(kind="telegram")
    start(telegram, order_token_issue(order), user="1001")
    text(telegram, "stop", user="1001")
    start(telegram, order_token_issue(order), user="2002")

    # when the old chat presses Start again
    [reply] = start(telegram, "", user="1001", text="/start")

    # then it stays unsubscribed: the customer is reached through the newer chat
    statuses = dict(Subscription.objects.values_list("platform_user_id", "status"))
    assert statuses == {"1001": Status.UNSUBSCRIBED, "2002": Status.ACTIVE}
    assert reply.message.text == replies.text("moved", "en", shop_url=settings.SHOP_URL)


# --- the platforms' own plain Start webhooks -----------------------------------------------------
def _telegram() -> dict:
    body = payload("telegram", "message_text")
    body["message"]["text"] = "/start"  # typed, or the Start / Restart button
    body["message"]["entities"] = [{"type": "bot_command", "offset": 0, "length": 6}]
    return body


def _viber() -> dict:
    body = payload("viber", "conversation_started_token")
    del body["context"]  # the chat was opened without a deep link
    return body


def _messenger() -> dict:
    body = payload("messenger", "start_via_referral")
    del body["entry"][0]["messaging"][0]["referral"]["ref"]  # an m.me link without ref
    return body


def _sandbox() -> dict:
    return {"type": "start", "conversation": "conversation-0001", "id": "start", "token": ""}


PLAIN_STARTS = {
    "telegram": _telegram,
    "vk": lambda: payload("vk", "message_new_start_button"),  # payload {"command": "start"}
    "viber": _viber,
    "messenger": _messenger,
    "sandbox": _sandbox,
}


@pytest.mark.parametrize("kind", sorted(PLAIN_STARTS))
def test_it_answers_each_platforms_plain_start_webhook_by_its_rule(client, order, kind):
    # given a customer who typed STOP in the chat the platform's webhook comes from
    body = PLAIN_STARTS[kind]()
    user = sender(kind, body)
    account = ChannelAccountFactory(kind=kind)
    start(account, order_token_issue(order), user=user)
    text(account, "stop", user=user)

    # when the platform posts its Start without a token
    response = post_hook(client, account, body)

    # then an explicit Start re-subscribes, an opened chat does not
    assert response.status_code == 200
    subscription = Subscription.objects.get(account=account, platform_user_id=user)
    expected = Status.ACTIVE if kind in EXPLICIT else Status.UNSUBSCRIBED
    assert subscription.status == expected
    opt_ins = subscription.consents.filter(kind="opt_in").values_list("source", flat=True)
    assert sorted(opt_ins) == (["deep_link", "start"] if kind in EXPLICIT else ["deep_link"])


def test_it_brings_a_whatsapp_customer_back_when_they_type_start(client, order):
    # WhatsApp has no Start button: the customer writes, and START is the keyword for it
    body = payload("whatsapp", "text")
    body["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"] = "START"
    user = sender("whatsapp", body)
    account = ChannelAccountFactory(kind="whatsapp")
    start(account, order_token_issue(order), user=user)
    text(account, "stop", user=user)

    assert post_hook(client, account, body).status_code == 200

    subscription = Subscription.objects.get(account=account)
    assert subscription.status == Status.ACTIVE
    assert ("opt_in", "keyword", "START") in kinds(subscription)
