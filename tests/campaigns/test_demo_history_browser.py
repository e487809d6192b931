"""After manage.py demo_history the campaign pages and the programme dashboard draw their charts
(SVG with data points); screenshots kept in var/artifacts/test_demo_history/."""

from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from campaigns.models import Campaign
from tests.browser import browser_page_fixture  # noqa: F401 - the `browser_page` fixture
from tests.campaigns.test_admin_screens_browser import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(settings.BASE_DIR) / "var" / "artifacts" / "test_demo_history"


def test_every_chart_is_drawn_after_the_demo_month(browser_page, live_server, admin_user):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    call_command("demo_history", "--customers", "300", stdout=StringIO())
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, live_server, admin_user)

    for campaign in Campaign.objects.order_by("pk"):
        page.goto(f"{live_server.url}/admin/campaigns/campaign/{campaign.pk}/stats/")
        assert page.locator("svg.cb-chart .cb-mark").count() >= 5
        page.screenshot(path=str(ARTIFACTS / f"campaign-{campaign.kind}.png"), full_page=True)

    page.goto(f"{live_server.url}/admin/campaigns/campaign/programme/")
    assert page.locator("svg.cb-chart .cb-mark").count() >= 5
    page.screenshot(path=str(ARTIFACTS / "programme.png"), full_page=True)
