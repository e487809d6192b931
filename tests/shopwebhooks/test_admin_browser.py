"""The shop-webhook screens in headless Chromium, kept under var/artifacts/test_admin_screens/."""

import pytest

from shopwebhooks.delivery import deliver_due
from shopwebhooks.models import Endpoint
from subscriptions.services import subscription_stop
from tests.browser import browser_page_fixture  # noqa: F401 - the `browser_page` fixture
from tests.campaigns.test_admin_screens_browser import ARTIFACTS, login
from tests.factories import SubscriptionFactory
from tests.shopwebhooks.receiver import receiver

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_endpoint_and_delivery_log_screens(browser_page, live_server, admin_user):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, live_server, admin_user)

    page.goto(f"{live_server.url}/admin/shopwebhooks/endpoint/add/")
    page.fill("#id_name", "shop backend")
    page.fill("#id_url", "https://shop.example/hooks/comeback")
    page.check("input[value='reorder.requested']")
    page.check("input[value='survey.low_score']")
    page.screenshot(path=str(ARTIFACTS / "webhook-endpoint-add.png"), full_page=True)
    page.click("input[name=_save]")
    page.wait_for_selector("text=shown this once")
    page.screenshot(path=str(ARTIFACTS / "webhook-endpoint-secret-once.png"), full_page=True)
    assert Endpoint.objects.get().secret in page.content()

    with receiver([500]) as shop:
        Endpoint.objects.create(name="failing", url=shop.url)
        subscription_stop(subscription=SubscriptionFactory(), source="keyword", evidence="STOP")
        deliver_due()
    page.goto(f"{live_server.url}/admin/shopwebhooks/webhookdelivery/")
    page.wait_for_selector("text=HTTP 500")
    page.screenshot(path=str(ARTIFACTS / "webhook-delivery-log.png"), full_page=True)
    page.click("td.field-created_at a, th.field-created_at a")
    page.wait_for_selector("text=Idempotency-Key")
    page.screenshot(path=str(ARTIFACTS / "webhook-delivery.png"), full_page=True)
    assert "subscription.ended" in page.content()
