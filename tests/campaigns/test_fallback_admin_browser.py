"""The marketer sets a campaign's fallback rules in admin, without JSON; the screen is kept under
var/artifacts/test_admin_screens/ for review."""

from datetime import timedelta

import pytest

from campaigns.models import Campaign
from tests.browser import browser_page_fixture  # noqa: F401 - the `browser_page` fixture
from tests.campaigns.test_admin_screens_browser import ARTIFACTS, login
from tests.factories import CampaignFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_marketer_picks_the_fallback_channels_in_order(browser_page, live_server, admin_user):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    campaign = CampaignFactory(name="Weekly menu", status="draft", send_at="2026-12-07T10:00Z")
    login(page, live_server, admin_user)
    page.goto(f"{live_server.url}/admin/campaigns/campaign/{campaign.pk}/change/")

    section = page.locator("fieldset:has(#id_fallback_channels_0)")
    section.locator("#id_fallback_not_read_after_0").fill("2")
    section.locator("#id_fallback_not_read_after_1").select_option("hours")
    section.locator("#id_fallback_channels_0").select_option("whatsapp")
    section.locator("#id_fallback_channels_1").select_option("viber")
    section.screenshot(path=str(ARTIFACTS / "fallback-rules.png"))
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist")

    campaign = Campaign.objects.get(pk=campaign.pk)
    assert campaign.fallback_channels == ["whatsapp", "viber"]
    assert campaign.fallback_not_read_after == timedelta(hours=2)
    assert campaign.fallback_not_delivered_after is None  # left at 0: no such rule

    # The same channel twice is refused, in words, next to the pickers.
    page.locator("#id_fallback_channels_1").select_option("whatsapp")
    page.click("input[name=_continue]")
    page.wait_for_selector("text=Pick each channel once.")
    page.locator("fieldset:has(#id_fallback_channels_0)").screenshot(
        path=str(ARTIFACTS / "fallback-rules-refused.png")
    )
    assert Campaign.objects.get(pk=campaign.pk).fallback_channels == ["whatsapp", "viber"]
