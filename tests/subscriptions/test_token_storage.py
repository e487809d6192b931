"""A deep-link token is a bearer credential for its order's subscribe link: the stored inbound
event keeps its prefix only, wherever the platform put the token, while the link still works."""

import json

import pytest

from channels.models import InboundEvent
from subscriptions.models import Subscription
from subscriptions.tokens import order_token_issue, token_prefix
from tests.factories import ChannelAccountFactory, OrderFactory
from tests.subscriptions.hooks import post_hook, start_webhook

pytestmark = pytest.mark.django_db
KINDS = ["telegram", "messenger", "viber", "vk", "whatsapp", "sandbox"]


def stored_text(event: InboundEvent) -> str:
    """Everything the row keeps, as one text to search."""
    fields = (event.token, event.text, event.payload, json.dumps(event.raw, ensure_ascii=False))
    return "\n".join(fields)


@pytest.mark.parametrize("kind", KINDS)
def test_the_stored_start_event_keeps_only_the_tokens_prefix(client, kind):
    # given a customer who opens the order's subscribe link on `kind`
    account = ChannelAccountFactory(kind=kind)
    order = OrderFactory()
    token = order_token_issue(order)
    body = start_webhook(kind, account.provider().deep_link(token))

    # when the platform posts the start
    assert post_hook(client, account, body).status_code == 200

    # then the chat is linked to the order, from the token as it arrived
    assert Subscription.objects.get(account=account).order == order
    # and the stored event has the prefix in place of the token, the signature nowhere
    event = InboundEvent.objects.get(account=account, kind="start")
    assert event.token == token_prefix(token)
    assert token not in stored_text(event)
    assert token_prefix(token) in json.dumps(event.raw)


def test_an_unprocessed_earlier_copy_is_handled_with_the_token_as_redelivered(client, settings):
    # given a start stored earlier whose handling never finished (a crash, say)
    account = ChannelAccountFactory(kind="telegram")
    order = OrderFactory()
    body = start_webhook("telegram", account.provider().deep_link(order_token_issue(order)))
    handlers, settings.INBOUND_EVENT_HANDLERS = settings.INBOUND_EVENT_HANDLERS, []
    assert post_hook(client, account, body).status_code == 200
    InboundEvent.objects.update(processed_at=None)
    assert not Subscription.objects.exists()

    # when the platform redelivers it
    settings.INBOUND_EVENT_HANDLERS = handlers
    assert post_hook(client, account, body).status_code == 200

    # then it is handled once more with the full token and links the chat
    assert Subscription.objects.get(account=account).order == order
    assert InboundEvent.objects.get(kind="start").processed_at is not None


def test_a_start_parameter_that_is_not_our_token_is_kept_as_it_is(client):
    # an ad's ref or a promo widget key is no credential
    account = ChannelAccountFactory(kind="telegram")
    body = start_webhook("telegram", "https://t.me/bot?start=spring-promo-2026")

    assert post_hook(client, account, body).status_code == 200

    assert InboundEvent.objects.get(kind="start").token == "spring-promo-2026"
