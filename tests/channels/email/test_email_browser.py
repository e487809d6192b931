"""The e-mail as a mail client shows it, and its unsubscribe page, in headless Chromium; kept
under var/artifacts/test_email/ for review."""

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings

from campaigns.dispatch import run_account
from subscriptions.models import Subscription
from tests.browser import browser_page_fixture  # noqa: F401 - the `browser_page` fixture
from tests.channels.email.smtp import smtp_server
from tests.channels.email.test_email_channel import unsubscribe_header
from tests.factories import (
    CampaignFactory,
    ChannelAccountFactory,
    DeliveryFactory,
    SubscriptionFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(django_settings.BASE_DIR) / "var" / "artifacts" / "test_email"
MENU = {
    "default": {
        "text": "Next week's menu is here, {name}!\nPick your set by Friday.",
        "cards": [
            {"title": "Fit 5 days", "subtitle": "1,400 kcal a day", "image_url": "",
             "buttons": [{"text": "Order for next week", "url": "https://shop.example/fit"}]},
            {"title": "Family 7 days", "subtitle": "For four", "image_url": "",
             "buttons": [{"text": "Order for next week", "url": "https://shop.example/family"}]},
        ],
        "buttons": [{"text": "Stop these e-mails", "payload": "sub:stop"}],
    }
}  # fmt: skip


def test_the_email_and_its_unsubscribe_page(browser_page, live_server, settings):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    settings.PUBLIC_BASE_URL = live_server.url
    subscription = SubscriptionFactory(
        account=ChannelAccountFactory(kind="email", name="shop-email"),
        platform_user_id="olena@example.com",
    )
    campaign = CampaignFactory(content=MENU, respect_quiet_hours=False)
    delivery = DeliveryFactory(campaign=campaign, subscription=subscription)
    with smtp_server(settings) as mailbox:
        run_account(delivery.account_id)
    [message] = mailbox.messages

    page = browser_page
    page.set_viewport_size({"width": 800, "height": 900})
    page.set_content(message.get_body(("html",)).get_content())
    page.screenshot(path=str(ARTIFACTS / "weekly-menu-email.png"), full_page=True)
    assert page.locator("a:has-text('Order for next week')").count() == 2

    url = urlsplit(unsubscribe_header(message))
    page.goto(f"{live_server.url}{url.path}")
    page.screenshot(path=str(ARTIFACTS / "unsubscribe-confirm.png"), full_page=True)
    page.click("button:has-text('Unsubscribe')")
    page.wait_for_selector("text=You are unsubscribed")
    page.screenshot(path=str(ARTIFACTS / "unsubscribed.png"), full_page=True)
    assert Subscription.objects.get(pk=subscription.pk).status == "unsubscribed"
