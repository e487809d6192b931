"""The funnel's admin page and a campaign link's subscribe page in headless Chromium; the
screenshots are kept under var/artifacts/test_funnel/ for review."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from subscriptions import sources
from subscriptions.links import signed_link_url
from subscriptions.models import LinkVisit, Subscription
from tests.browser import browser_page_fixture  # noqa: F401 - the `browser_page` fixture
from tests.factories import ChannelAccountFactory, CustomerFactory, OrderFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(settings.BASE_DIR) / "var" / "artifacts" / "test_funnel"


def _month() -> None:
    """40 orders with links; 24 opened, 15 pressed, 12 subscribed, 5 of them 30+ days ago."""
    now = timezone.now()
    telegram = ChannelAccountFactory(kind="telegram")
    for n in range(40):
        order = OrderFactory(
            links_issued_at=now - timedelta(days=n % 45), email_opt_in=n < 30 and n % 6 == 0
        )
        if n >= 24:
            continue
        source = sources.CHECKOUT_EMBED if n % 3 else sources.ORDER_EMAIL
        LinkVisit.objects.create(
            source=source,
            order=order,
            customer=order.customer,
            device="phone" if n % 4 else "desktop",
            link_issued_at=now,
            opened_at=now - timedelta(days=n % 45),
            redirects=int(n < 15),
            channel="telegram" if n < 15 else "",
        )
        if n < 12:
            Subscription.objects.create(
                customer=order.customer,
                account=telegram,
                platform_user_id=str(n),
                order=order,
                source=source,
                device="phone" if n % 4 else "desktop",
                subscribed_at=now - timedelta(days=3 * n),
            )


def test_the_funnel_page_draws_its_bars(browser_page, live_server, admin_user):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    _month()
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", admin_user.username)
    page.fill("#id_password", "password")
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")

    page.goto(f"{live_server.url}/admin/subscriptions/subscription/funnel/?days=90")

    bars = page.locator("svg.funnel rect")
    assert bars.count() == 5
    assert bars.first.bounding_box()["width"] > bars.nth(3).bounding_box()["width"] > 0
    page.screenshot(path=str(ARTIFACTS / "funnel-admin.png"), full_page=True)


def test_a_campaign_links_page_offers_every_messenger(browser_page, live_server, settings):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    settings.PUBLIC_BASE_URL = live_server.url
    ChannelAccountFactory(kind="telegram")
    ChannelAccountFactory(kind="whatsapp")
    CustomerFactory()
    link = signed_link_url(source=sources.QR_SCAN, name="box-insert")

    browser_page.goto(link + "?utm_source=box")

    assert browser_page.locator("a.button").count() == 2
    assert "new menu and offers" in browser_page.content()
    browser_page.screenshot(path=str(ARTIFACTS / "campaign-link-phone.png"), full_page=True)
    visit = LinkVisit.objects.get()
    assert (visit.source, visit.utm, visit.name) == ("qr_scan", {"utm_source": "box"}, "box-insert")
