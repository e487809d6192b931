"""The inbound events list in headless Chromium, kept under var/artifacts/test_admin_screens/."""

import pytest
from django.utils import timezone

from channels.models import InboundEvent
from tests.browser import browser_page_fixture  # noqa: F401 - the `browser_page` fixture
from tests.campaigns.test_admin_screens_browser import ARTIFACTS, login
from tests.factories import ChannelAccountFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_inbound_list_filters_what_waits_for_a_worker(browser_page, live_server, admin_user):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser_page
    page.set_viewport_size({"width": 1440, "height": 700})
    account = ChannelAccountFactory(kind="telegram", name="shop-telegram")
    now = timezone.now()
    for n, (text, fields) in enumerate([
        ("Was the borscht vegetarian?", {"deferred": True}),
        ("STOP", {"deferred": True, "processed_at": now}),
        ("Пельмени?", {"deferred": True, "attempts": 2, "retry_at": now}),
        ("/start", {"processed_at": now}),
    ]):  # fmt: skip
        InboundEvent.objects.create(
            account=account, kind="text", platform_user_id=f"55500{n}", event_id=str(n),
            occurred_at=now, text=text, **fields,
        )  # fmt: skip
    login(page, live_server, admin_user)

    page.goto(f"{live_server.url}/admin/channels/inboundevent/")
    page.wait_for_selector("text=Waiting for a worker")
    page.screenshot(path=str(ARTIFACTS / "inbound-events.png"), full_page=True)
    assert page.locator("#result_list tbody tr").count() == 4
    assert page.locator("text=failed twice; next try").count() == 1

    page.click("#changelist-filter a:has-text('Waiting for a worker')")
    page.wait_for_selector("text=2 results")
    page.screenshot(path=str(ARTIFACTS / "inbound-events-waiting.png"), full_page=True)
    assert page.locator("#result_list tbody tr").count() == 2

    page.click("#changelist-filter a:has-text('Failing, tried again later')")
    page.wait_for_selector("text=1 result")
    page.screenshot(path=str(ARTIFACTS / "inbound-events-failing.png"), full_page=True)
    assert page.locator("#result_list tbody tr").count() == 1
