"""The stats pages in Chromium: the campaign's and the programme's charts are drawn (SVG with
data points); screenshots kept in var/artifacts/test_stats_pages/."""

from pathlib import Path

import pytest
from django.conf import settings

from tests.browser import browser_page_fixture  # noqa: F401 - the `browser_page` fixture
from tests.campaigns.test_admin_screens_browser import login
from tests.campaigns.test_stats_pages import campaign  # noqa: F401 - fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(settings.BASE_DIR) / "var" / "artifacts" / "test_stats_pages"


def test_the_stats_pages_draw_their_charts(browser_page, live_server, admin_user, campaign):  # noqa: F811
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, live_server, admin_user)

    page.goto(f"{live_server.url}/admin/campaigns/campaign/{campaign.pk}/stats/")
    marks = page.locator("svg.cb-chart .cb-mark")
    assert marks.count() >= 5
    assert page.locator("svg.cb-chart title", has_text="viber: 66.7%").count() == 1
    page.screenshot(path=str(ARTIFACTS / "campaign-stats.png"), full_page=True)

    page.goto(f"{live_server.url}/admin/campaigns/campaign/programme/")
    assert page.locator("svg.cb-chart .cb-mark").count() >= 5
    page.screenshot(path=str(ARTIFACTS / "programme.png"), full_page=True)
