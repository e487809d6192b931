"""A marketer's whole round in Chromium, as a user of the `Marketers` group: build a weekly
menu with ru and uk versions and two buttons, preview it on all five messengers, link the
sandbox chat as a test recipient and test-send (the sandbox chat shows it), read who will get
it, launch, and watch the progress bar reach 100%. Screenshots of each step are kept under
var/artifacts/test_marketer_browser/."""

from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from playwright.sync_api import expect

from campaigns.dispatch import run_account
from campaigns.models import Campaign, Delivery, TestSend
from tests.browser import browser_page_fixture  # noqa: F401 - the `browser_page` fixture
from tests.campaigns.test_admin_lifecycle import marketers_group
from tests.factories import ChannelAccountFactory, CustomerFactory, SubscriptionFactory
from tests.workers import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(settings.BASE_DIR) / "var" / "artifacts" / "test_marketer_browser"
KINDS = ("telegram", "messenger", "viber", "vk", "whatsapp")


@pytest.fixture
def sandbox(live_server, settings):
    settings.PUBLIC_BASE_URL = live_server.url
    settings.SANDBOX_ENABLED = True
    return ChannelAccountFactory(kind="sandbox", name="sandbox")


def test_a_marketer_builds_previews_tests_launches_and_watches(browser_page, live_server, sandbox):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = lambda page, name: page.screenshot(path=str(ARTIFACTS / name), full_page=True)  # noqa: E731
    for locale in ("uk-UA", "ru-RU", "en-GB"):
        SubscriptionFactory(account=sandbox, customer=CustomerFactory(locale=locale), order=None)
    user = User.objects.create_user("mia", password="password", is_staff=True)
    user.groups.add(marketers_group())
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "mia")
    page.fill("#id_password", "password")
    page.click("input[type=submit]")

    # 1. Build: the weekly menu template (en, ru, uk), sent now, a second button in each.
    page.goto(f"{live_server.url}/admin/campaigns/campaign/")
    page.click("text=New from template: Weekly menu")
    page.fill("#id_name", "This week's menu")
    page.select_option("#id_kind", "one_off")
    page.click("#id_send_at_0 ~ span a:has-text('Today')")
    page.click("#id_send_at_1 ~ span a:has-text('Now')")
    page.uncheck("#id_respect_quiet_hours")
    for field, label in (("id_content", "Call us"), ("id_content_ru", "Позвонить"),
                         ("id_content_uk", "Зателефонувати")):  # fmt: skip
        # The template's third button (Repeat my last order) becomes "Call us".
        builder = page.locator(f".cb-builder[data-for={field}]")
        builder.locator("[data-item=button] [data-field=text]").nth(2).fill(label)
        builder.locator("[data-item=button] [data-field=value]").nth(2).fill("call")
    shot(page, "1-builder.png")
    page.click("input[name=_continue]")
    page.wait_for_selector("text=was added successfully")
    campaign = Campaign.objects.get(name="This week's menu")
    assert campaign.content_variants["uk"]["default"]["buttons"][2] == {
        "text": "Зателефонувати", "payload": "call",
    }  # fmt: skip

    # 2. Preview on all five messengers (none connected) and the sandbox.
    live = page.locator("#cb-live-preview")
    # Four buttons each (three and the quick reply), as the platform shows them; WhatsApp folds
    # the link into the text.
    for kind in KINDS:
        count = 3 if kind == "whatsapp" else 4
        expect(live.locator(f".cb-channel[data-kind={kind}] .cb-btn")).to_have_count(count)
    live.screenshot(path=str(ARTIFACTS / "2-preview.png"))

    # 3. Link the sandbox chat as a test recipient: type the code there.
    ChannelAccountFactory(kind="telegram", name="shop-telegram")
    page.goto(f"{live_server.url}/admin/campaigns/testrecipient/add/")
    code = page.locator(".cb-code").inner_text().strip()
    # each messenger's deep link carries the code, with its QR code drawn next to it
    expect(page.locator(".cb-test-links figure[data-kind=telegram] svg path")).to_have_count(1)
    assert code in page.locator(".cb-test-links figure[data-kind=telegram] a").get_attribute("href")
    shot(page, "3-test-recipient-code-and-qr.png")
    chat = page.context.new_page()
    chat.goto(f"{live_server.url}/sandbox/")
    chat.get_by_test_id("start-demo").click()
    # The chat is live once it shows the conversation started (its script runs): typed
    # before, under load, the Enter went to a page whose script had not loaded yet.
    expect(chat.get_by_test_id("system-note")).to_be_visible()
    chat.get_by_test_id("composer-input").fill(code)
    chat.get_by_test_id("composer-input").press("Enter")
    expect(chat.get_by_test_id("message-in").last).to_contain_text(code)

    def linked() -> bool:
        # The chat shows the line as it is typed; the server may not have read it yet, and the
        # page then says "No message ... yet": the marketer asks again.
        page.click("#cb-check-link")
        return page.locator("text=Linked:").count() > 0

    wait_for(linked, timeout=20, interval=0.5)
    shot(page, "3-test-recipient-linked.png")

    # 4. Test-send the draft in Ukrainian: the sandbox chat shows it; no delivery, no stat.
    page.goto(f"{live_server.url}/admin/campaigns/campaign/{campaign.pk}/change/")
    page.select_option("[name=cb-language]", "uk")
    page.click("#cb-test-send-button")
    expect(page.locator("#cb-test-send-result")).to_contain_text("Sent to")
    uk_text = campaign.content_variants["uk"]["default"]["text"].replace("{name}", "")
    expect(chat.get_by_test_id("message-out").last).to_contain_text(uk_text.strip()[:20])
    chat.screenshot(path=str(ARTIFACTS / "4-sandbox-shows-the-test.png"))
    assert TestSend.objects.filter(campaign=campaign).count() == 1
    assert not Delivery.objects.filter(campaign=campaign).exists()

    # 5. Who will get this: three customers on the sandbox, all sent now.
    reach = page.locator("#cb-reach")
    expect(reach.locator(".cb-reach-send td").last).to_have_text("3")
    reach.screenshot(path=str(ARTIFACTS / "5-reach.png"))

    # 6. Launch from the list, then watch the progress bar on the campaign page.
    page.goto(f"{live_server.url}/admin/campaigns/campaign/")
    page.check(f"input[name=_selected_action][value='{campaign.pk}']")
    page.select_option("select[name=action]", "launch")
    page.click("button[name=index]")
    page.wait_for_selector("text=launched, 3 deliveries written")
    shot(page, "6-launched.png")
    page.goto(f"{live_server.url}/admin/campaigns/campaign/{campaign.pk}/change/")

    def settled() -> bool:
        run_account(sandbox.pk)
        return not Delivery.objects.filter(campaign=campaign).exclude(state="sent").exists()

    wait_for(settled, timeout=60)
    bar = page.locator(".cb-progress[data-live] .cb-bar")
    expect(bar).to_have_attribute("aria-valuenow", "100", timeout=15_000)
    shot(page, "7-progress-100.png")
    texts = [d.body["text"] for d in sandbox.sandboxmessage_set.filter(direction="out")]
    assert any(text.startswith("Hi ") for text in texts)  # the en customer
