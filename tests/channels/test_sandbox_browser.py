"""The sandbox conversation in a real (headless) browser against a live server."""

import re
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import Page, expect

from channels.events import EventKind
from channels.messages import Button, Card, RichMessage
from channels.models import InboundEvent, SandboxMessage
from channels.providers.base import Reply
from tests.browser import browser_page_fixture  # noqa: F401 - registers `browser_page`
from tests.factories import ChannelAccountFactory

# A live server needs committed data: these tests run on a transactional database, which is
# flushed afterwards (migration 0002's sandbox account too, so the fixture makes its own).
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HANDLER = "tests.channels.test_sandbox_browser.shop_bot"
SCREENSHOTS = Path(django_settings.BASE_DIR) / "var"
# An inline picture: the test page must not need the internet for its images.
PICTURE = (
    "data:image/svg+xml,"
    "%3Csvg xmlns='http://www.w3.org/2000/svg' width='400' height='200'%3E"
    "%3Crect width='400' height='200' fill='%23f4a259'/%3E"
    "%3Ccircle cx='200' cy='100' r='60' fill='%23fff3'/%3E%3C/svg%3E"
)


def shop_bot(event: InboundEvent) -> list[Reply]:
    """Stands in for subscriptions.inbound.handle_event while that is being built."""
    to = event.platform_user_id
    if event.kind == EventKind.START:
        welcome = RichMessage(
            text="Welcome to Comeback Kitchen!\nYou will get news about your order here.",
            buttons=(
                Button("Topic settings", payload="topics"),
                Button("Unsubscribe", payload="unsubscribe"),
                Button("Open the shop", url="https://shop.example/"),
            ),
        )
        return [Reply(to, welcome)]
    if event.kind == EventKind.BUTTON:
        return [Reply(to, RichMessage(text=f"You chose: {event.payload}"))]
    if event.kind == EventKind.TEXT and event.text == "menu":
        return [Reply(to, weekly_menu())]
    if event.kind == EventKind.TEXT:
        return [Reply(to, RichMessage(text=f"You wrote: {event.text}"))]
    return []


def weekly_menu() -> RichMessage:
    dish = (Button("Add to next week", payload="add"), Button("Recipe", url="https://shop.test/"))
    return RichMessage(
        text="How was your set? The new weekly menu is out.",
        image_url=PICTURE,
        quick_replies=(Button("👍 Loved it", payload="survey:5"), Button("👎", payload="survey:1")),
        cards=(
            Card("Tomato soup", "with basil oil", PICTURE, dish),
            Card("Chicken curry", "mild, with rice", PICTURE, dish),
            Card("Cheesecake", "New York style", PICTURE, dish),
        ),
    )


@pytest.fixture
def sandbox(live_server, settings):
    settings.INBOUND_EVENT_HANDLERS = [HANDLER]
    settings.PUBLIC_BASE_URL = live_server.url
    return ChannelAccountFactory(kind="sandbox", name="sandbox")


def read_message_ids() -> set[str]:
    receipts = InboundEvent.objects.filter(kind="read").values_list("message_ids", flat=True)
    return {message_id for ids in receipts for message_id in ids}


def eventually(check, seconds: float = 5.0) -> bool:
    """True once `check()` is; the page reports some things a moment after it shows them."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def bot_bubbles(page: Page):
    return page.get_by_test_id("message-out")


def test_it_runs_a_conversation_in_a_real_browser(sandbox, browser_page: Page):
    page = browser_page
    # Given a shop's subscribe link for the sandbox channel
    link = sandbox.provider().deep_link("order-42-token")

    # When the customer opens it
    page.goto(link)

    # Then the bot's welcome appears, with its buttons
    welcome = bot_bubbles(page).first
    expect(welcome.get_by_test_id("message-text")).to_have_text(
        "Welcome to Comeback Kitchen!\nYou will get news about your order here."
    )
    expect(page.get_by_test_id("system-note")).to_be_visible()
    shop = welcome.get_by_test_id("url-button")
    expect(shop).to_have_attribute("href", "https://shop.example/")
    expect(shop).to_have_attribute("target", "_blank")
    expect(shop).to_have_attribute("rel", re.compile("noopener"))
    assert re.search(r"[?&]c=[A-Za-z0-9_-]{22}", page.url)
    page.screenshot(path=SCREENSHOTS / "sandbox-welcome.png")

    # When they press a reply button
    welcome.get_by_test_id("reply-button").filter(has_text="Topic settings").click()

    # Then their choice shows as their own bubble, and the bot's reply follows it
    expect(page.get_by_test_id("message-in")).to_have_text(re.compile("^Topic settings"))
    expect(bot_bubbles(page).nth(1).get_by_test_id("message-text")).to_have_text(
        "You chose: topics"
    )
    page.screenshot(path=SCREENSHOTS / "sandbox.png")
    start, press = (
        InboundEvent.objects.exclude(kind="read")
        .order_by("received_at")
        .values_list("kind", "token", "payload")
    )
    assert start == ("start", "order-42-token", "")
    assert press == ("button", "", "topics")

    # And a reload resumes the same conversation without starting it again
    page.reload()
    expect(bot_bubbles(page)).to_have_count(2)
    expect(page.get_by_test_id("system-note")).to_have_count(1)
    assert InboundEvent.objects.filter(kind="start").count() == 1


def test_it_shows_rich_messages_and_escapes_what_is_typed(sandbox, browser_page: Page):
    page = browser_page
    page.goto(sandbox.provider().deep_link("t"))
    expect(bot_bubbles(page)).to_have_count(1)

    # When the customer types markup, it shows as text, not as HTML
    page.get_by_test_id("composer-input").fill("<b>bold</b> & more")
    page.get_by_test_id("composer-input").press("Enter")
    expect(bot_bubbles(page).nth(1)).to_contain_text("You wrote: <b>bold</b> & more")
    expect(page.locator("[data-testid=messages] b")).to_have_count(0)
    expect(page.get_by_test_id("composer-input")).to_have_value("")

    # When they ask for the menu, the image, the carousel and the quick replies show
    page.get_by_test_id("composer-input").fill("menu")
    page.get_by_test_id("composer-send").click()
    menu = bot_bubbles(page).nth(2)
    expect(menu.get_by_test_id("message-image")).to_be_visible()
    cards = page.get_by_test_id("card")
    expect(cards).to_have_count(3)
    expect(cards.nth(0).get_by_test_id("card-title")).to_have_text("Tomato soup")
    expect(cards.nth(1).get_by_test_id("card-subtitle")).to_have_text("mild, with rice")
    expect(page.get_by_test_id("quick-reply")).to_have_count(2)
    page.screenshot(path=SCREENSHOTS / "sandbox-rich.png")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.screenshot(path=SCREENSHOTS / "sandbox-desktop.png")

    # When they tap a quick reply, it is answered and the quick replies vanish
    page.get_by_test_id("quick-reply").filter(has_text="Loved it").click()
    expect(bot_bubbles(page).last).to_contain_text("You chose: survey:5")
    expect(page.get_by_test_id("quick-reply")).to_have_count(0)
    # And every bot message the customer saw was reported read
    bot_lines = SandboxMessage.objects.filter(direction="out")
    shown = {str(pk) for pk in bot_lines.values_list("pk", flat=True)}
    assert eventually(lambda: shown <= read_message_ids()), (shown, read_message_ids())


def test_it_starts_a_demo_without_a_token_from_the_landing_page(
    sandbox, live_server, browser_page: Page
):
    page = browser_page
    page.goto(f"{live_server.url}/sandbox/")
    page.screenshot(path=SCREENSHOTS / "sandbox-landing.png")

    page.get_by_test_id("start-demo").click()

    expect(bot_bubbles(page)).to_have_count(1)
    assert InboundEvent.objects.get(kind="start").token == ""
