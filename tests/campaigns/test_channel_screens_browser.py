"""Screens this issue added, in headless Chromium, kept under var/artifacts/test_admin_screens/:
the reorder list and the SMS bubble of the live preview with its segment count."""

import pytest
from django.utils import timezone

from campaigns.models import Reorder
from tests.browser import browser_page_fixture  # noqa: F401 - the `browser_page` fixture
from tests.campaigns.test_admin_screens_browser import ARTIFACTS, login
from tests.factories import (
    CampaignFactory,
    ChannelAccountFactory,
    OrderFactory,
    SubscriptionFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_reorder_list_and_the_sms_preview(browser_page, live_server, admin_user):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    chat = SubscriptionFactory()
    last = OrderFactory(customer=chat.customer, external_id="A-500")
    Reorder.objects.create(kind="next_week", subscription=chat, last_order=last, items=[])
    Reorder.objects.create(
        kind="repeat", subscription=SubscriptionFactory(), state="confirmed",
        order_external_id="A-777", decided_at=timezone.now(),
    )  # fmt: skip
    ChannelAccountFactory(kind="sms", name="shop-sms")
    campaign = CampaignFactory(content={"default": {"text": "Меню на следующую неделю готово!"}})
    login(page, live_server, admin_user)

    page.goto(f"{live_server.url}/admin/campaigns/reorder/")
    page.wait_for_selector("text=A-777")
    page.screenshot(path=str(ARTIFACTS / "reorders.png"), full_page=True)
    assert page.locator("tr:has-text('Order for next week')").count() == 1

    page.goto(f"{live_server.url}/admin/campaigns/campaign/{campaign.pk}/change/")
    # the builder's first change re-renders the preview: wait until it shows the draft as it is
    page.wait_for_selector("#cb-live-preview[aria-busy=false]")
    sms = page.locator("#cb-live-preview .cb-channel[data-kind=sms]")
    sms.screenshot(path=str(ARTIFACTS / "sms-preview.png"))
    assert sms.locator(".cb-segments").inner_text() == "1 segment, UCS-2"
