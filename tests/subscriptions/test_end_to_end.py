"""The issue's acceptance test, on every platform, over real HTTP.

The shop posts an order and gets subscribe links; the customer opens the link for a platform;
the platform calls our webhook (signed its own way) carrying the token; the customer is linked
to customer and order and receives the welcome - through the fake platform's API from a real
Celery worker, or, on Viber, in the webhook's answer (the only place a conversation_started
welcome may go). Start payloads come from the captured fixtures (tests/subscriptions/hooks.py).
"""

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from subscriptions import replies
from subscriptions.models import ApiKey, Subscription
from tests.factories import ChannelAccountFactory
from tests.subscriptions.hooks import sender, signed, start_webhook
from tests.workers import celery_worker, wait_for

TIMEOUT = 10


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker) -> Iterator[None]:
    """One real worker for the module, consuming this test process's queue."""
    with celery_worker():
        yield


def order_body(kind: str, locale: str) -> dict[str, Any]:
    return {
        "external_id": f"E2E-{kind}",
        "customer": {"external_id": f"cust-{kind}", "name": "Olga", "locale": locale},
        "items": [{"sku": "week-set-5", "name": "Week set", "quantity": 1, "price": "49.00"}],
        "total": "49.00",
        "currency": "EUR",
    }


# Each platform in another of the customer's languages, so the welcome's language is checked too.
LOCALES = {"telegram": "ru", "messenger": "en", "viber": "uk", "vk": "ru", "whatsapp": "en"}


def strings(value: Any) -> Iterator[str]:
    """Every string inside a JSON body or a form, wherever the platform puts the text."""
    if isinstance(value, str):
        yield value
        try:
            inner = json.loads(value)  # VK sends its keyboard as a JSON string in a form field
        except ValueError:
            return
        if not isinstance(inner, str):
            yield from strings(inner)
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def mentions(body: Any, text: str) -> bool:
    return any(text in s for s in strings(body))


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", sorted(LOCALES))
def test_it_subscribes_a_customer_from_checkout_to_welcome(
    kind, live_server, fake_platform, worker
):
    # given a shop with an API key and a channel account whose platform is the fake server
    account = ChannelAccountFactory(kind=kind, api_base=fake_platform.url)
    _, key = ApiKey.issue("shop")
    locale = LOCALES[kind]

    # when the shop posts an order
    created = requests.post(
        f"{live_server.url}/api/v1/orders/",
        json=order_body(kind, locale),
        headers={"Authorization": f"Api-Key {key}"},
        timeout=TIMEOUT,
    )
    assert created.status_code == 201, created.text
    link = created.json()["subscribe_links"][account.name]

    # and the customer opens the platform's link, so the platform calls our webhook
    start = start_webhook(kind, link)
    body, headers = signed(account, start)
    user = sender(kind, start)
    hook = requests.post(
        f"{live_server.url}/hooks/{account.name}/",
        data=body,
        headers={"Content-Type": "application/json", **headers},
        timeout=TIMEOUT,
    )
    assert hook.status_code == 200, hook.text

    # then the messenger user is subscribed, linked to the customer and the order
    subscription = Subscription.objects.select_related("customer", "order").get(account=account)
    assert subscription.platform_user_id == user
    assert subscription.status == Subscription.Status.ACTIVE
    assert subscription.customer.external_id == f"cust-{kind}"
    assert subscription.order.external_id == f"E2E-{kind}"
    assert subscription.consents.get().kind == "opt_in"

    # and the welcome, in the customer's language, with the order and how to stop, reaches them
    welcome = replies.text("welcome", locale, order=f"E2E-{kind}").split("\n")[0]
    if kind == "viber":
        assert mentions(hook.json(), welcome), hook.text
        assert re.search(r"sub:stop", hook.text)
    else:
        sent = wait_for(
            lambda: [
                r
                for r in fake_platform.requests_for(kind)
                if r.recipient == user and mentions(r.json or r.form, welcome)
            ]
        )
        assert len(sent) == 1
        assert mentions(sent[0].json or sent[0].form, "sub:stop")
