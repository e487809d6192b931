"""In production (DEBUG off, SANDBOX_ENABLED unset) the sandbox is not there: its pages answer
404 and no link, page or campaign offers its account to a real customer."""

import datetime as dt
import os
import subprocess
import sys

import pytest

from campaigns.materialize import one_off_materialize
from campaigns.models import Delivery
from subscriptions.tokens import order_token_issue
from tests.factories import (
    CampaignFactory,
    ChannelAccountFactory,
    OrderFactory,
    SubscriptionFactory,
)
from tests.subscriptions.api_support import api_fixture, api_key_fixture  # noqa: F401

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
CONVERSATION = "conv-0123456789"


@pytest.fixture
def accounts():
    return {
        "sandbox": ChannelAccountFactory(kind="sandbox", name="sandbox"),
        "telegram": ChannelAccountFactory(kind="telegram", name="shop-telegram"),
    }


@pytest.fixture
def production(settings):
    settings.DEBUG = False
    settings.SANDBOX_ENABLED = False


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/sandbox/"),
        ("get", "/sandbox/?start=abc"),
        ("get", f"/sandbox/?start=abc&c={CONVERSATION}"),
        ("get", f"/sandbox/api/{CONVERSATION}/messages"),
        ("post", f"/sandbox/api/{CONVERSATION}/events"),
    ],
)
def test_the_sandbox_answers_404_in_production(client, accounts, production, method, path):
    response = getattr(client, method)(path)

    assert response.status_code == 404


def test_the_sandbox_answers_when_enabled(client, accounts, settings):
    settings.DEBUG = False
    settings.SANDBOX_ENABLED = True

    assert client.get("/sandbox/").status_code == 200


def test_order_links_leave_the_sandbox_out_in_production(api, accounts, production):
    OrderFactory(external_id="A-7")

    links = api.get("/api/v1/orders/A-7/subscribe-links/").json()["subscribe_links"]

    assert list(links) == ["shop-telegram"]


def test_order_links_offer_the_sandbox_when_enabled(api, accounts, settings):
    settings.SANDBOX_ENABLED = True
    OrderFactory(external_id="A-7")

    links = api.get("/api/v1/orders/A-7/subscribe-links/").json()["subscribe_links"]

    assert list(links) == ["sandbox", "shop-telegram"]


def test_the_subscribe_page_leaves_the_sandbox_out_in_production(client, accounts, production):
    token = order_token_issue(OrderFactory())

    html = client.get(f"/s/{token}/").content.decode()

    assert 'data-kind="telegram"' in html
    assert 'data-kind="sandbox"' not in html and "/sandbox/" not in html


@pytest.mark.parametrize(
    ("enabled", "expected"), [(False, {"telegram"}), (True, {"telegram", "sandbox"})]
)
def test_a_campaign_naming_no_accounts_reaches_the_sandbox_only_when_enabled(
    accounts, settings, enabled, expected
):
    settings.SANDBOX_ENABLED = enabled
    on = {
        kind: SubscriptionFactory(account=account, order=None) for kind, account in accounts.items()
    }
    campaign = CampaignFactory(
        kind="one_off", status="scheduled", send_at=NOW + dt.timedelta(minutes=1)
    )

    one_off_materialize(campaign=campaign, now=NOW)

    reached = set(Delivery.objects.filter(campaign=campaign).values_list("subscription", flat=True))
    assert reached == {on[kind].pk for kind in expected}


@pytest.mark.parametrize(("debug", "expected"), [("0", "False"), ("1", "True")])
def test_the_sandbox_follows_debug_unless_set(debug, expected):
    env = {key: value for key, value in os.environ.items() if key != "SANDBOX_ENABLED"}
    env |= {"DEBUG": debug, "SECRET_KEY": "x" * 50}
    code = "import django; django.setup(); from django.conf import settings as s; "
    code += "print(s.SANDBOX_ENABLED)"

    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)

    assert out.stdout.strip() == expected, out.stderr
