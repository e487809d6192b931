"""In a real browser, no page we serve breaks its own Content-Security-Policy: admin, the
subscribe page (also framed), the sandbox chat and the API docs load with no CSP violation."""

from pathlib import Path

import pytest
from django.conf import settings

from subscriptions.tokens import order_token_issue
from tests.browser import browser_page_fixture  # noqa: F401 - registers `browser_page`
from tests.factories import ChannelAccountFactory, OrderFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(settings.BASE_DIR) / "var" / "artifacts" / "test_csp_browser"


def test_no_page_breaks_its_csp(browser_page, live_server, admin_user):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ChannelAccountFactory(kind="sandbox", name="sandbox")
    ChannelAccountFactory(kind="telegram", name="shop-telegram")
    token = order_token_issue(OrderFactory(external_id="A-1001"))
    violations: list[str] = []
    page = browser_page
    page.on(
        "console",
        lambda message: violations.append(f"{page.url}: {message.text}")
        if "Content Security Policy" in message.text
        else None,
    )
    page.set_viewport_size({"width": 1280, "height": 800})

    page.goto(f"{live_server.url}/admin/login/?next=/admin/subscriptions/customer/")
    page.fill("#id_username", admin_user.username)
    page.fill("#id_password", "password")
    page.click("input[type=submit]")
    page.wait_for_selector("#changelist")
    page.screenshot(path=str(ARTIFACTS / "admin.png"))
    page.goto(f"{live_server.url}/admin/campaigns/campaign/add/")
    page.wait_for_selector("form")
    page.screenshot(path=str(ARTIFACTS / "admin-campaign-add.png"))

    page.goto(f"{live_server.url}/s/{token}/?embed=1")
    page.wait_for_selector(".qr svg")
    page.screenshot(path=str(ARTIFACTS / "subscribe.png"))

    page.goto(f"{live_server.url}/sandbox/?start={token}")
    page.wait_for_selector("[data-testid=chat]")
    page.wait_for_timeout(1000)  # the page posts its start and polls once
    page.screenshot(path=str(ARTIFACTS / "sandbox.png"))

    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".swagger-ui .info")
    page.screenshot(path=str(ARTIFACTS / "api-docs.png"))

    assert violations == []
