"""The subscribe funnel, figure by figure, from orders posted to the real order API, pages and
redirects opened with a browser's user agent and Starts posted to the platforms' webhooks."""

import re
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from subscriptions import sources
from subscriptions.funnel import funnel_figures
from subscriptions.links import signed_link_url
from subscriptions.models import Subscription
from subscriptions.services import subscription_stop
from tests.factories import ChannelAccountFactory
from tests.subscriptions.api_support import api_fixture, api_key_fixture, order_body  # noqa: F401
from tests.subscriptions.hooks import post_hook, start_webhook
from tests.subscriptions.test_sources import ANDROID, DESKTOP, IPHONE

pytestmark = pytest.mark.django_db


def _local(url: str, settings) -> str:
    return url.removeprefix(settings.PUBLIC_BASE_URL)


def _open(client, settings, page: str, ua: str) -> dict[str, str]:
    """Open a page; its buttons by messenger."""
    html = client.get(_local(page, settings), HTTP_USER_AGENT=ua).content.decode()
    return dict(re.findall(r'data-kind="(\w+)" href="([^"]+)"', html))


def _press_and_start(client, settings, button: str, kind: str, *, user: int, ua: str) -> None:
    redirect = client.get(_local(button, settings), HTTP_USER_AGENT=ua)
    account = ChannelAccountFactory(kind=kind)
    body = start_webhook(kind, redirect["Location"])
    now = int(time.time())  # the captured payloads are dated when they were captured
    if kind == "telegram":  # another person: another chat and update
        body["update_id"] = user
        body["message"]["from"]["id"] = body["message"]["chat"]["id"] = user
        body["message"]["date"] = now
    else:
        body["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] = str(now)
    assert post_hook(client, account, body).status_code == 200


@pytest.fixture
def funnel(api, client, settings):
    """Four orders posted (3 told us about e-mail: one yes), their pages opened, a QR scanned."""
    ChannelAccountFactory(kind="telegram")
    ChannelAccountFactory(kind="whatsapp")
    offers = {}
    for number, opt_in in (("A1", True), ("A2", False), ("A3", False), ("A4", None)):
        body = order_body(external_id=number, customer={"external_id": f"C-{number}"})
        if opt_in is not None:
            body["email_opt_in"] = opt_in
        response = api.post("/api/v1/orders/", body, format="json")
        assert response.status_code == 201
        offers[number] = response.json()
    # A1: the hosted page, twice, on a phone; Telegram; subscribed
    _open(client, settings, offers["A1"]["subscribe_page"], IPHONE)
    buttons = _open(client, settings, offers["A1"]["subscribe_page"], IPHONE)
    _press_and_start(client, settings, buttons["telegram"], "telegram", user=501, ua=IPHONE)
    # A2: the confirmation e-mail's link on a desktop; WhatsApp; subscribed
    buttons = _open(client, settings, offers["A2"]["subscribe_email_link"], DESKTOP)
    _press_and_start(client, settings, buttons["whatsapp"], "whatsapp", user=0, ua=DESKTOP)
    # A3: the checkout embed on a desktop, no button pressed; A4: never opened
    _open(client, settings, f"/s/{offers['A3']['subscribe_token']}/?embed=1", DESKTOP)
    # a QR code in the box, scanned with an Android phone; Telegram; subscribed
    qr = signed_link_url(source=sources.QR_SCAN, name="box")
    buttons = _open(client, settings, qr, ANDROID)
    _press_and_start(client, settings, buttons["telegram"], "telegram", user=502, ua=ANDROID)


def test_it_counts_every_step_per_source_device_and_messenger(funnel):
    figures = funnel_figures(days=30)

    assert figures["total"] == {
        "links_issued": 4, "page_opened": 4, "button_pressed": 3, "subscribed": 3,
        "old_enough_30d": 0, "still_subscribed_30d": 0,
    }  # fmt: skip
    rows = {row["source"]: row for row in figures["by_source"]}
    assert {source: (r["page_opened"], r["button_pressed"], r["subscribed"])
            for source, r in rows.items()} == {
        "checkout_embed": (1, 0, 0), "hosted_page": (1, 1, 1), "order_email": (1, 1, 1),
        "qr_scan": (1, 1, 1),
    }  # fmt: skip
    devices = {r["device"]: (r["page_opened"], r["button_pressed"], r["subscribed"])
               for r in figures["by_device"]}  # fmt: skip
    assert devices == {"phone": (2, 2, 2), "desktop": (2, 1, 1)}
    messengers = {r["messenger"]: (r["button_pressed"], r["subscribed"])
                  for r in figures["by_messenger"]}  # fmt: skip
    assert messengers == {"telegram": (2, 2), "whatsapp": (1, 1)}


def test_it_computes_the_times_more_than_e_mail(funnel):
    figures = funnel_figures(days=30)

    # 1 of the 3 orders that told us opted into e-mail; 2 of the 4 orders with links subscribed
    assert figures["email"] == {"orders": 3, "opted_in": 1, "rate": 0.3333}
    assert figures["messenger"] == {"orders": 4, "subscribed": 2, "rate": 0.5}
    assert figures["times_email"] == 1.5


def test_it_counts_who_is_still_subscribed_30_days_later(funnel):
    # given the QR subscriber left after a week
    qr = Subscription.objects.get(source="qr_scan")
    subscription_stop(subscription=qr, source="keyword", evidence="STOP",
                      at=timezone.now() + timedelta(days=7))  # fmt: skip

    # when the funnel is read 31 days on, over 60 days
    figures = funnel_figures(days=60, now=timezone.now() + timedelta(days=31))

    assert (figures["total"]["old_enough_30d"], figures["total"]["still_subscribed_30d"]) == (3, 2)
    kept = {r["source"]: r["still_subscribed_30d"] for r in figures["by_source"]}
    assert kept == {"checkout_embed": 0, "hosted_page": 1, "order_email": 1, "qr_scan": 0}


def test_the_stats_api_answers_the_same_funnel(funnel, api):
    body = api.get("/api/v1/stats/?days=30").json()["funnel"]

    expected = funnel_figures(days=30)
    for key in ("total", "by_source", "by_device", "by_messenger", "email", "times_email"):
        assert body[key] == expected[key]
    assert body["total"]["links_issued"] == 4 and body["times_email"] == 1.5


def test_a_counted_link_straight_to_a_messenger_is_opened_and_pressed(api, client, settings):
    # given the order answer's counted link and an ad's link straight to Telegram
    telegram = ChannelAccountFactory(kind="telegram")
    offer = api.post("/api/v1/orders/", order_body(external_id="D1"), format="json").json()
    ad = f"{signed_link_url(source=sources.AD, name='spring')}go/{telegram.pk}/"

    # when each is pressed and Start follows
    for user, url in enumerate((offer["subscribe_counted_links"][telegram.name], ad), 601):
        _press_and_start(client, settings, url, "telegram", user=user, ua=IPHONE)

    # then each counts as opened, pressed and subscribed, by its source
    rows = funnel_figures(days=1)["by_source"]
    steps = {r["source"]: (r["page_opened"], r["button_pressed"], r["subscribed"]) for r in rows}
    assert steps == {"deep_link": (1, 1, 1), "ad": (1, 1, 1)}
    assert Subscription.objects.get(source="ad").device == "phone"
