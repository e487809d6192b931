"""The issue's acceptance test, on every platform, over real HTTP.

The shop posts an order and gets subscribe links; the customer opens the link for a platform;
the platform calls our webhook (signed its own way) carrying the token; the customer is linked
to customer and order and receives the welcome - through the fake platform's API from a real
Celery worker, or, on Viber, in the webhook's answer (the only place a conversation_started
welcome may go). Start payloads come from the captured fixtures under tests/fixtures/<platform>/.
"""

import copy
import json
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from subscriptions import replies
from subscriptions.models import ApiKey, Subscription
from tests.channels.webhooks import fixture, hmac_hex
from tests.factories import CREDENTIALS, ChannelAccountFactory
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


def query(link: str, name: str) -> str:
    return parse_qs(urlsplit(link).query)[name][0]


# --- the start webhook, as each platform sends it: (body, headers, user id) -----------------------
Start = tuple[bytes, dict[str, str], str]


def telegram_start(account, link: str) -> Start:
    # t.me/<bot>?start=<token> -> "/start <token>" (core.telegram.org/bots/features#deep-linking)
    update = copy.deepcopy(fixture("telegram", "message_start_token"))
    update["message"]["text"] = f"/start {query(link, 'start')}"
    headers = {"X-Telegram-Bot-Api-Secret-Token": account.webhook_secret}
    return json.dumps(update).encode(), headers, str(update["message"]["from"]["id"])


def meta_headers(app_secret: str, body: bytes) -> dict[str, str]:
    return {"X-Hub-Signature-256": f"sha256={hmac_hex(app_secret, body)}"}


def messenger_start(account, link: str) -> Start:
    # m.me/<page>?ref=<token> -> Get Started postback with referral.ref in a new thread
    payload = copy.deepcopy(fixture("messenger", "start_via_postback"))
    messaging = payload["entry"][0]["messaging"][0]
    messaging["postback"]["referral"]["ref"] = query(link, "ref")
    body = json.dumps(payload).encode()
    headers = meta_headers(CREDENTIALS["messenger"]["app_secret"], body)
    return body, headers, messaging["sender"]["id"]


def viber_start(account, link: str) -> Start:
    # viber://pa?chatURI=<uri>&context=<token> -> conversation_started.context
    payload = copy.deepcopy(fixture("viber", "conversation_started_token"))
    payload["context"] = query(link, "context")
    body = json.dumps(payload).encode()
    headers = {"X-Viber-Content-Signature": hmac_hex(CREDENTIALS["viber"]["auth_token"], body)}
    return body, headers, payload["user"]["id"]


def vk_start(account, link: str) -> Start:
    # vk.me/<group>?ref=<token> -> message_new.object.message.ref; the secret rides in the body
    payload = copy.deepcopy(fixture("vk", "message_new_ref"))
    payload["object"]["message"]["ref"] = query(link, "ref")
    payload["secret"] = CREDENTIALS["vk"]["secret"]
    return json.dumps(payload).encode(), {}, str(payload["object"]["message"]["from_id"])


def whatsapp_start(account, link: str) -> Start:
    # wa.me/<number>?text=<prefill>: the customer sends the prefilled text, code and all
    payload = copy.deepcopy(fixture("whatsapp", "text_subscribe_code"))
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message["text"]["body"] = query(link, "text")
    body = json.dumps(payload).encode()
    headers = meta_headers(CREDENTIALS["whatsapp"]["app_secret"], body)
    return body, headers, message["from"]


STARTS: dict[str, Callable[[Any, str], Start]] = {
    "telegram": telegram_start,
    "messenger": messenger_start,
    "viber": viber_start,
    "vk": vk_start,
    "whatsapp": whatsapp_start,
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
@pytest.mark.parametrize("kind", sorted(STARTS))
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
    body, headers, user = STARTS[kind](account, link)
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
