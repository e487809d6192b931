# ruff: noqa: RUF001 - the page speaks Russian and Ukrainian: Cyrillic on purpose
"""The subscribe page in headless Chromium: QR codes for desktops, big buttons for phones."""

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.conf import settings

from channels.models import ChannelAccount
from subscriptions.tokens import order_token_issue
from tests.browser import PHONE, browser_page_fixture  # noqa: F401 - registers `browser_page`
from tests.factories import ChannelAccountFactory, CustomerFactory, OrderFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DESKTOP = {"width": 1280, "height": 900}
SCREENSHOTS = Path(settings.BASE_DIR) / "var"


@pytest.fixture
def page_url(live_server) -> str:
    for kind in ("telegram", "messenger", "viber", "whatsapp"):
        ChannelAccountFactory(kind=kind, name=f"shop-{kind}")
    order = OrderFactory(external_id="A-1001", customer=CustomerFactory(locale="ru"))
    return f"{live_server.url}/s/{order_token_issue(order)}/"


def test_it_shows_a_qr_code_beside_each_button_on_a_desktop(browser_page, page_url):
    # given
    enabled = ChannelAccount.objects.filter(enabled=True).count()
    browser_page.set_viewport_size(DESKTOP)

    # when
    browser_page.goto(page_url)

    # then
    buttons, codes = browser_page.locator("a.button"), browser_page.locator(".qr svg")
    assert buttons.count() == codes.count() == enabled
    for index in range(enabled):
        assert buttons.nth(index).is_visible()
        assert codes.nth(index).is_visible()
        assert codes.nth(index).bounding_box()["width"] >= 100  # big enough to scan
    assert browser_page.locator("h1").inner_text().startswith("Новости о заказе")
    browser_page.screenshot(path=str(SCREENSHOTS / "subscribe-page.png"), full_page=True)


def test_it_shows_only_buttons_on_a_phone(browser_page, page_url):
    # given
    browser_page.set_viewport_size(PHONE)

    # when
    browser_page.goto(page_url)

    # then
    buttons, codes = browser_page.locator("a.button"), browser_page.locator(".qr svg")
    assert buttons.count() == codes.count() > 0
    for index in range(buttons.count()):
        assert buttons.nth(index).is_visible()
        assert not codes.nth(index).is_visible()
        box = buttons.nth(index).bounding_box()
        assert box["height"] >= 44 and box["width"] >= PHONE["width"] * 0.7  # thumb-sized
    assert browser_page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    browser_page.screenshot(path=str(SCREENSHOTS / "subscribe-page-phone.png"), full_page=True)


@pytest.fixture
def shop_page() -> Iterator[Callable[[str], str]]:
    """Serve a page on another loopback origin: `shop_page(html)` gives its URL.

    A real server, not a Playwright route: Chromium lets only a page that itself came from
    loopback load scripts from loopback (local network access checks).
    """
    pages: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path, b"")
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def publish(html: str) -> str:
        pages["/checkout"] = html.encode()
        return f"http://127.0.0.1:{server.server_port}/checkout"

    try:
        yield publish
    finally:
        server.shutdown()
        server.server_close()


def test_it_frames_the_page_through_the_embed_script(
    browser_page, page_url, live_server, settings, shop_page
):
    # given the shop's checkout page, on its own origin, carrying the one-line embed
    settings.PUBLIC_BASE_URL = live_server.url
    token = page_url.rstrip("/").rsplit("/", 1)[1]
    script = f'<script src="{live_server.url}/s/embed.js" data-token="{token}"></script>'
    browser_page.set_viewport_size(DESKTOP)

    # when
    browser_page.goto(shop_page(f"<h2>Thanks for your order</h2>{script}"))

    # then the page is framed, with all its buttons
    frame = browser_page.frame_locator("iframe")
    frame.locator("a.button").first.wait_for(state="visible")
    assert frame.locator("a.button").count() == ChannelAccount.objects.filter(enabled=True).count()
    # and the frame grew to its content (the page reports its height to the script)
    browser_page.wait_for_function("document.querySelector('iframe').offsetHeight != 360")
    height = browser_page.evaluate("document.querySelector('iframe').offsetHeight")
    content = frame.locator("html").evaluate("html => html.scrollHeight")
    assert abs(height - content) <= 2
    browser_page.screenshot(path=str(SCREENSHOTS / "subscribe-embed.png"), full_page=True)
