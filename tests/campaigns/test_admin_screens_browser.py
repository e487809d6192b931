"""Every campaign admin screen the marketer's workspace changed, in headless Chromium, kept as
screenshots under var/artifacts/test_admin_screens/ for review."""

from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from campaigns.models import Campaign, WhatsAppTemplate
from tests.browser import browser_page_fixture  # noqa: F401 - the `browser_page` fixture
from tests.factories import (
    CampaignFactory,
    ChannelAccountFactory,
    DeliveryFactory,
    SubscriptionFactory,
)

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
    page.wait_for_selector("text=makes a new version")
    page.screenshot(path=str(ARTIFACTS / "locked-change-page.png"), full_page=True)

    for state in ("sent", "deferred", "failed", "pending"):
        DeliveryFactory(campaign=launched, state=state)
    page.goto(f"{live_server.url}/admin/campaigns/campaign/")
    page.wait_for_selector(".cb-progress")
    page.screenshot(path=str(ARTIFACTS / "list-progress.png"))

    page.goto(f"{live_server.url}/admin/campaigns/campaign/{launched.pk}/delete/")
    page.wait_for_selector("text=cannot be deleted")
    page.screenshot(path=str(ARTIFACTS / "delete-refused.png"), full_page=True)

    page.goto(f"{live_server.url}/admin/campaigns/delivery/")
    page.screenshot(path=str(ARTIFACTS / "deliveries.png"))
    page.locator("td.field-customer a").first.click()
    page.wait_for_selector("#cb-customer")
    page.screenshot(path=str(ARTIFACTS / "customer-page.png"), full_page=True)

    page.goto(f"{live_server.url}/admin/campaigns/campaign/{launched.pk}/change/")
    page.click("button:has-text('Duplicate')")
    page.wait_for_selector("text=Copied")
    page.screenshot(path=str(ARTIFACTS / "duplicated.png"), full_page=True)


def test_the_builder_writes_the_message_without_json(browser_page, live_server, admin_user):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, live_server, admin_user)
    page.goto(f"{live_server.url}/admin/campaigns/campaign/?archived=all")
    page.click("text=New from template: Weekly menu")
    page.wait_for_selector(".cb-slot[data-slot=default]")
    page.screenshot(path=str(ARTIFACTS / "builder-weekly-menu.png"), full_page=True)
    page.locator("fieldset.module:has(.cb-builder)").screenshot(
        path=str(ARTIFACTS / "builder-message-closeup.png")
    )

    # Only a survey's message asks for a comment prompt; the survey template fills it per language.
    assert page.locator("[data-field=comment_prompt]").count() == 0
    page.goto(f"{live_server.url}/admin/campaigns/campaign/?archived=all")
    page.click("text=New from template: Order survey")
    prompts = page.locator("[data-field=comment_prompt]")
    prompts.first.wait_for()
    assert prompts.count() == 3
    assert prompts.nth(2).input_value() == "Дякуємо! Що нам зробити краще? Просто напишіть."
    page.locator("fieldset.module:has(.cb-builder)").screenshot(
        path=str(ARTIFACTS / "builder-survey-comment-prompt.png")
    )

    page.goto(f"{live_server.url}/admin/campaigns/campaign/add/")
    page.fill("#id_name", "Built by hand")
    page.select_option("#id_kind", "one_off")
    page.select_option("#id_category", "service")
    page.fill("#id_send_at_0", "2026-12-24")
    page.fill("#id_send_at_1", "10:00")
    builder = page.locator(".cb-builder[data-for=id_content]")
    builder.locator("button:has-text('Add')").click()
    builder.locator("[data-field=text]").first.fill("Hi {name}, your order {order}")
    builder.locator("button:has-text('+ Link button')").click()
    builder.locator("[data-item=button] [data-field=text]").fill("Track it")
    builder.locator("button:has-text('+ Reply button')").click()
    builder.locator("[data-item=button] [data-field=text]").nth(1).fill("Call me")
    builder.locator("[data-item=button] [data-field=value]").nth(1).fill("call")
    builder.locator("button[aria-label='Move button 2 up']").click()
    builder.locator("button:has-text('+ Card')").first.click()
    builder.locator("[data-item=card] [data-field=title]").fill("Soup of the day")
    page.screenshot(path=str(ARTIFACTS / "builder-by-hand.png"), full_page=True)
    live = page.locator("#cb-live-preview")
    for kind in ("telegram", "messenger", "viber", "vk", "whatsapp"):
        # a carousel card where the platform has them, a message of its own elsewhere
        live.locator(
            f".cb-channel[data-kind={kind}] .cb-bubble:has-text('Soup of the day')"
        ).wait_for()
    live.screenshot(path=str(ARTIFACTS / "live-preview.png"))
    page.click("input[name=_save]")
    page.wait_for_selector("text=was added successfully")

    campaign = Campaign.objects.get(name="Built by hand")
    assert campaign.content == {
        "default": {
            "text": "Hi {name}, your order {order}",
            "buttons": [
                {"text": "Call me", "payload": "call"},
                {"text": "Track it", "url": "{link}"},
            ],
            "cards": [{"title": "Soup of the day"}],
        }
    }


def test_the_reach_panel_renders(browser_page, live_server, admin_user):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    telegram = ChannelAccountFactory(kind="telegram", name="shop-telegram")
    whatsapp = ChannelAccountFactory(
        kind="whatsapp", name="shop-whatsapp", price_per_message="0.0500", price_currency="EUR"
    )
    for account, wants in ((telegram, True), (telegram, False), (whatsapp, True)):
        SubscriptionFactory(account=account, wants_menu=wants, order=None)
    campaign = CampaignFactory(name="Weekly menu", status="draft", whatsapp_template="menu_v1")
    campaign.accounts.set([telegram, whatsapp])
    login(page, live_server, admin_user)
    page.goto(f"{live_server.url}/admin/campaigns/campaign/{campaign.pk}/change/")
    panel = page.locator("#cb-reach")
    panel.wait_for()
    panel.screenshot(path=str(ARTIFACTS / "reach-panel.png"))
    assert "would be sent now" in panel.inner_text()

    page.goto(f"{live_server.url}/admin/")
    page.wait_for_selector("#cb-home")
    page.screenshot(path=str(ARTIFACTS / "admin-home.png"), full_page=True)


def test_the_whatsapp_template_screens_render(browser_page, live_server, admin_user):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    account = ChannelAccountFactory(kind="whatsapp", name="shop-whatsapp")
    for language in ("en_US", "uk", "ru"):
        WhatsAppTemplate.objects.create(
            account=account, name="weekly_menu", language=language, category="MARKETING",
            status="APPROVED", parameters=2, body="Hi {{1}}! Next week: {{2}}",
        )  # fmt: skip
    login(page, live_server, admin_user)
    page.goto(f"{live_server.url}/admin/campaigns/whatsapptemplate/")
    page.wait_for_selector("#cb-sync-templates")
    page.screenshot(path=str(ARTIFACTS / "whatsapp-templates.png"))
    page.goto(f"{live_server.url}/admin/campaigns/campaign/add/")
    section = page.locator("fieldset:has(#id_whatsapp_template)")
    section.locator("summary").click()
    page.select_option("#id_whatsapp_template", "weekly_menu")
    page.select_option("#id_wa_language_default", "en_US")
    page.select_option("#id_wa_param_1", "{name}")
    section.screenshot(path=str(ARTIFACTS / "whatsapp-template-pickers.png"))
