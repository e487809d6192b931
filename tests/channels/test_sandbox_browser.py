"""The sandbox conversation in a real (headless) browser against a live server.

The bot behind the page is the real one (settings.INBOUND_EVENT_HANDLERS: the subscriptions and
campaigns handlers), linked by a real signed order token: what the customer sees is what a
shop's customer would see.
"""

import re
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import Page, expect

from channels.messages import Button, Card, RichMessage
from channels.models import InboundEvent, SandboxMessage
from subscriptions import replies
from subscriptions.inbound import SETTINGS
from subscriptions.models import Subscription
from subscriptions.tokens import order_token_issue
from tests.browser import browser_page_fixture  # noqa: F401 - registers `browser_page`
from tests.factories import ChannelAccountFactory, OrderFactory

# A live server needs committed data: these tests run on a transactional database, which is
# flushed afterwards (migration 0002's sandbox account too, so the fixture makes its own).
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(django_settings.BASE_DIR) / "var"
# An inline picture: the test page must not need the internet for its images.
PICTURE = (
    "data:image/svg+xml,"
    "%3Csvg xmlns='http://www.w3.org/2000/svg' width='400' height='200'%3E"
    "%3Crect width='400' height='200' fill='%23f4a259'/%3E"
    "%3Ccircle cx='200' cy='100' r='60' fill='%23fff3'/%3E%3C/svg%3E"
)
EN = "en"  # the browser's locale (tests/browser.py): the bot answers in English


def weekly_menu() -> RichMessage:
    """A campaign message; its quick reply carries a real subscriptions payload."""
    dish = (Button("Add to next week", payload="add"), Button("Recipe", url="https://shop.test/"))
    return RichMessage(
        text="How was your set? The new weekly menu is out.",
        image_url=PICTURE,
        quick_replies=(
            Button(replies.text("button.settings", EN), payload=SETTINGS),
            Button("👎", payload="survey:none"),
        ),
        cards=(
            Card("Tomato soup", "with basil oil", PICTURE, dish),
            Card("Chicken curry", "mild, with rice", PICTURE, dish),
            Card("Cheesecake", "New York style", PICTURE, dish),
        ),
    )


@pytest.fixture
def sandbox(live_server, settings):
    settings.PUBLIC_BASE_URL = live_server.url
    return ChannelAccountFactory(kind="sandbox", name="sandbox")


@pytest.fixture
def order():
    return OrderFactory(external_id="ORD-1042")


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


def conversation_of(page: Page) -> str:
    return parse_qs(urlsplit(page.url).query)["c"][0]


def open_link(page: Page, sandbox, order) -> None:
    """Open the order's subscribe link and wait for the bot's welcome."""
    page.goto(sandbox.provider().deep_link(order_token_issue(order)))
    expect(bot_bubbles(page)).to_have_count(1)


def test_it_links_the_order_and_answers_a_button_in_a_real_browser(
    sandbox, order, browser_page: Page
):
    page = browser_page
    # Given the shop's subscribe link for an order: a real signed token
    link = sandbox.provider().deep_link(order_token_issue(order))

    # When the customer opens it
    page.goto(link)

    # Then the real welcome appears, naming the order and how to leave, with its buttons
    welcome = bot_bubbles(page).first
    expect(welcome.get_by_test_id("message-text")).to_have_text(
        replies.text("welcome", EN, order="ORD-1042")
    )
    expect(welcome.get_by_test_id("message-text")).to_contain_text("ORD-1042")
    expect(welcome.get_by_test_id("reply-button")).to_have_text(["Settings", "Unsubscribe"])
    expect(page.get_by_test_id("system-note")).to_be_visible()
    assert re.search(r"[?&]c=[A-Za-z0-9_-]{22}", page.url)
    page.screenshot(path=SCREENSHOTS / "sandbox-welcome.png")
    # And the conversation is subscribed and linked to the order
    subscription = Subscription.objects.get(account=sandbox)
    assert (subscription.platform_user_id, subscription.order_id) == (
        conversation_of(page),
        order.pk,
    )
    assert subscription.customer_id == order.customer_id
    assert subscription.is_active

    # When they press a reply button
    welcome.get_by_test_id("reply-button").filter(has_text="Settings").click()

    # Then their choice shows as their own bubble, and the real topic menu follows it
    expect(page.get_by_test_id("message-in")).to_have_text(re.compile("^Settings"))
    menu = bot_bubbles(page).nth(1)
    expect(menu.get_by_test_id("message-text")).to_contain_text("Choose what you'd like to get")
    expect(menu.get_by_test_id("message-text")).to_contain_text("Weekly menu: on")
    expect(menu.get_by_test_id("reply-button")).to_have_count(4)  # three topics and Done
    page.screenshot(path=SCREENSHOTS / "sandbox.png")
    start, press = (
        InboundEvent.objects.exclude(kind="read")
        .order_by("received_at")
        .values_list("kind", "payload")
    )
    assert start == ("start", "")
    assert press == ("button", SETTINGS)

    # And a reload resumes the same conversation without starting it again
    page.reload()
    expect(bot_bubbles(page)).to_have_count(2)
    expect(page.get_by_test_id("system-note")).to_have_count(1)
    assert InboundEvent.objects.filter(kind="start").count() == 1


def test_it_shows_rich_messages_and_escapes_what_is_typed(sandbox, order, browser_page: Page):
    page = browser_page
    open_link(page, sandbox, order)

    # When the customer types markup, it shows as text, not as HTML
    page.get_by_test_id("composer-input").fill("<b>bold</b> & more")
    page.get_by_test_id("composer-input").press("Enter")
    expect(page.get_by_test_id("message-in").last).to_contain_text("<b>bold</b> & more")
    expect(page.locator("[data-testid=messages] b")).to_have_count(0)
    expect(page.get_by_test_id("composer-input")).to_have_value("")
    # The bubble shows before the server has the line; stored after the menu, the customer's
    # line would be the newest and rightly hide the menu's quick replies.
    typed = SandboxMessage.objects.filter(
        conversation=conversation_of(page), direction="in", body__text="<b>bold</b> & more"
    )
    assert eventually(typed.exists)

    # When the shop sends the weekly menu (what the dispatcher does: the provider's send)
    sandbox.provider().send(conversation_of(page), weekly_menu())

    # Then the image, the carousel and the quick replies show
    menu = bot_bubbles(page).nth(1)
    expect(menu.get_by_test_id("message-image")).to_be_visible()
    cards = page.get_by_test_id("card")
    expect(cards).to_have_count(3)
    expect(cards.nth(0).get_by_test_id("card-title")).to_have_text("Tomato soup")
    expect(cards.nth(1).get_by_test_id("card-subtitle")).to_have_text("mild, with rice")
    expect(page.get_by_test_id("quick-reply")).to_have_count(2)
    page.screenshot(path=SCREENSHOTS / "sandbox-rich.png")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.screenshot(path=SCREENSHOTS / "sandbox-desktop.png")

    # When they tap a quick reply, the real bot answers and the quick replies vanish
    page.get_by_test_id("quick-reply").filter(has_text="Settings").click()
    expect(bot_bubbles(page).last).to_contain_text("Choose what you'd like to get")
    expect(page.get_by_test_id("quick-reply")).to_have_count(0)

    # When they type STOP, the real bot unsubscribes them and says how to come back
    page.get_by_test_id("composer-input").fill("STOP")
    page.get_by_test_id("composer-input").press("Enter")
    expect(bot_bubbles(page).last.get_by_test_id("message-text")).to_have_text(
        replies.text("stopped", EN)
    )
    assert eventually(lambda: not Subscription.objects.get(account=sandbox).is_active)
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

    # A Start without a token links nothing: the real bot says how to subscribe
    expect(bot_bubbles(page).first.get_by_test_id("message-text")).to_have_text(
        replies.text("how_to_subscribe", EN, shop_url=django_settings.SHOP_URL)
    )
    assert InboundEvent.objects.get(kind="start").token == ""
    assert not Subscription.objects.exists()
