"""Every campaign admin screen the marketer's workspace changed, in headless Chromium, kept as
screenshots under var/artifacts/test_admin_screens/ for review."""

from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from tests.browser import browser_page_fixture  # noqa: F401 - the `browser_page` fixture
from tests.factories import CampaignFactory, DeliveryFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(settings.BASE_DIR) / "var" / "artifacts" / "test_admin_screens"


def login(page, live_server, user) -> None:
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "password")
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")


def test_the_lifecycle_screens_render(browser_page, live_server, admin_user):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    launched = CampaignFactory(name="Weekly menu", status="running", launched_at=timezone.now())
    DeliveryFactory(campaign=launched, state="sent", sent_at=timezone.now())
    login(page, live_server, admin_user)

    page.goto(f"{live_server.url}/admin/campaigns/campaign/{launched.pk}/change/")
    page.wait_for_selector("text=its content is locked")
    page.screenshot(path=str(ARTIFACTS / "locked-change-page.png"), full_page=True)

    page.goto(f"{live_server.url}/admin/campaigns/campaign/{launched.pk}/delete/")
    page.wait_for_selector("text=cannot be deleted")
    page.screenshot(path=str(ARTIFACTS / "delete-refused.png"), full_page=True)

    page.click("button:has-text('Duplicate')")
    page.wait_for_selector("text=Copied")
    page.screenshot(path=str(ARTIFACTS / "duplicated.png"), full_page=True)
