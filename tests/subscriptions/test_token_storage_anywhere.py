"""A token is cut to its prefix in every stored field of an inbound event, whatever surrounds
it: a start parameter longer than a token, a token inside a chat message, any captured event
shape of every platform with a token wherever people's words go."""

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels.models import ChannelAccount, InboundEvent, SandboxMessage
from subscriptions.models import Subscription
from subscriptions.tokens import (
    PAYLOAD_CHARS,
    order_token_issue,
    token_prefix,
    token_stored,
)
from tests.channels.webhooks import fixture_names
from tests.factories import ChannelAccountFactory, OrderFactory
from tests.subscriptions.hooks import payload, post_hook, start_webhook

pytestmark = pytest.mark.django_db
KINDS = ["telegram", "messenger", "viber", "vk", "whatsapp", "sandbox"]
HYPOTHESIS = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
# What may stand beside a token: its own alphabet (so the token is inside a longer run),
# spaces, punctuation and non-ASCII letters.
SURROUNDINGS = st.text(alphabet=st.sampled_from("aZ09_-x .:/?&=#ёЖ"), max_size=8)


def stored_text(event: InboundEvent) -> str:
    """Every text the row keeps, as one text to search."""
    fields = (event.token, event.text, event.payload, event.reason, event.user_name)
    return "\n".join((*fields, json.dumps(event.raw, ensure_ascii=False)))


def chat_message(kind: str, text: str) -> dict[str, Any]:
    """A plain text message from a customer on `kind` (no start, no token field)."""
    if kind == "sandbox":
        return {"type": "text", "conversation": "conversation-0002", "id": "m1", "text": text}
    names = {"telegram": "message_text", "messenger": "text", "viber": "message_text",
             "vk": "message_new_text", "whatsapp": "text"}  # fmt: skip
    body = payload(kind, names[kind])
    if kind == "telegram":
        body["message"]["text"] = text
    elif kind == "messenger":
        body["entry"][0]["messaging"][0]["message"]["text"] = text
    elif kind == "viber":
        body["message"]["text"] = text
    elif kind == "vk":
        body["object"]["message"]["text"] = text
    else:
        body["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"] = text
    return body


def account_of(kind: str) -> ChannelAccount:
    return ChannelAccount.objects.filter(kind=kind).first() or ChannelAccountFactory(kind=kind)


def signature(token: str) -> str:
    return token[PAYLOAD_CHARS:]


@HYPOTHESIS
@given(kind=st.sampled_from(KINDS), before=SURROUNDINGS, after=SURROUNDINGS)
def test_a_token_inside_a_longer_start_parameter_is_stored_as_its_prefix(
    client, kind, before, after
):
    # given a start parameter with a working token and more around it, on any platform
    account = account_of(kind)
    InboundEvent.objects.filter(account=account).delete()
    token = order_token_issue(OrderFactory())
    body = start_webhook(kind, account.provider().deep_link(f"{before}{token}{after}"))

    # when the platform posts it
    assert post_hook(client, account, body).status_code == 200

    # then no stored field holds the signature, and the prefix is kept as evidence
    events = list(InboundEvent.objects.filter(account=account))
    assert events
    for event in events:
        assert signature(token) not in stored_text(event)
    assert token_prefix(token) in "".join(stored_text(event) for event in events)


@HYPOTHESIS
@given(kind=st.sampled_from(KINDS), before=SURROUNDINGS, after=SURROUNDINGS)
def test_a_token_typed_into_a_chat_message_is_stored_as_its_prefix(client, kind, before, after):
    account = account_of(kind)
    InboundEvent.objects.filter(account=account).delete()
    token = order_token_issue(OrderFactory())

    assert post_hook(client, account, chat_message(kind, f"{before}{token}{after}")).status_code
    event = InboundEvent.objects.get(account=account)

    assert signature(token) not in stored_text(event)
    assert token_prefix(token) in event.text


@pytest.mark.parametrize("kind", KINDS)
def test_a_start_parameter_one_character_longer_than_a_token_still_links(client, kind):
    # `/start <token>x` and its kin: the stored copy is cut, the chat is still handled
    account = ChannelAccountFactory(kind=kind)
    token = order_token_issue(OrderFactory())
    body = start_webhook(kind, account.provider().deep_link(f"{token}x"))

    assert post_hook(client, account, body).status_code == 200

    event = InboundEvent.objects.get(account=account)
    assert signature(token) not in stored_text(event)
    assert Subscription.objects.filter(account=account).count() <= 1


@given(text=st.text(max_size=200))
def test_text_without_a_token_is_kept_as_it_is(text):
    assert token_stored(text) == text


@given(before=SURROUNDINGS, after=SURROUNDINGS, count=st.integers(1, 3))
def test_every_token_in_a_text_is_cut_to_its_prefix(before, after, count):
    tokens = [order_token_issue(OrderFactory.build(pk=pk)) for pk in range(1, count + 1)]
    text = before + after.join(tokens) + after

    kept = token_stored(text)

    assert kept == before + after.join(token_prefix(token) for token in tokens) + after


def test_an_ads_ref_and_a_platform_file_id_are_no_tokens():
    file_id = "AgACAgIAAxkBAAIBY2ZKx3QAAb1l5sQeB1XwR2mT9kPZAAJ_2zEb8TtRSqvH0Yt7p6b5AQADAgADeQADNQQ"
    assert token_stored(file_id) == file_id
    assert token_stored("spring-promo-2026") == "spring-promo-2026"


def test_the_sandbox_transcript_keeps_a_typed_token_as_its_prefix(client):
    ChannelAccountFactory(kind="sandbox", name="sandbox")
    token = order_token_issue(OrderFactory())

    response = client.post(
        "/sandbox/api/conversation-0003/events",
        {"type": "text", "id": "m1", "text": f"my code: {token}!"},
        content_type="application/json",
    )

    assert response.status_code == 200
    line = SandboxMessage.objects.get(direction="in")
    assert line.body["text"] == f"my code: {token_prefix(token)}!"


# Where a platform puts what a person typed, chose or opened a link with, in any event shape.
TEXT_KEYS = {"text", "body", "payload", "ref", "context", "data", "caption", "title",
             "description", "name", "first_name", "last_name", "reply", "key"}  # fmt: skip
SHAPES = [(kind, name) for kind in KINDS[:-1] for name in fixture_names(kind)]


def with_token(value: Any, token: str, before: str, after: str) -> Any:
    """`value` with the token put into every string under a text-like key."""
    if isinstance(value, dict):
        return {
            key: f"{before}{token}{after}"
            if key in TEXT_KEYS and isinstance(item, str)
            else with_token(item, token, before, after)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [with_token(item, token, before, after) for item in value]
    return value


@HYPOTHESIS
@given(shape=st.sampled_from(SHAPES), before=SURROUNDINGS, after=SURROUNDINGS)
def test_a_token_in_any_event_shape_is_stored_as_its_prefix(client, shape, before, after):
    # given any captured event of any platform, with a token wherever people's words go
    kind, name = shape
    account = account_of(kind)
    InboundEvent.objects.filter(account=account).delete()
    token = order_token_issue(OrderFactory())
    body = with_token(payload(kind, name), token, before, after)

    # when the platform posts it
    response = post_hook(client, account, body)

    # then whatever was stored keeps no signature
    assert response.status_code in (200, 400), response.content
    for event in InboundEvent.objects.filter(account=account):
        assert signature(token) not in stored_text(event), name
