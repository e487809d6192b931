# ruff: noqa: RUF001 - the page speaks Russian and Ukrainian: Cyrillic on purpose
"""The subscribe page in headless Chromium: QR codes for desktops, big buttons for phones."""

import base64
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import zxingcpp
from django.conf import settings

from channels.models import ChannelAccount
from channels.providers import LINKED_KINDS
from subscriptions.tokens import order_token_issue
from tests.browser import PHONE, browser_page_fixture  # noqa: F401 - registers `browser_page`
from tests.factories import ChannelAccountFactory, CustomerFactory, OrderFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DESKTOP = {"width": 1280, "height": 900}
SCREENSHOTS = Path(settings.BASE_DIR) / "var"


@pytest.fixture
def page_url(live_server) -> str:
    for kind in LINKED_KINDS:  # every kind the service has; the sandbox's account may be seeded
        ChannelAccountFactory(kind=kind, name="sandbox" if kind == "sandbox" else f"shop-{kind}")
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


# Turns a PNG into one grey byte per pixel, with the browser's own PNG decoder.
GREY_PIXELS = """async (png) => {
  const bytes = Uint8Array.from(atob(png), (c) => c.charCodeAt(0));
  const bitmap = await createImageBitmap(new Blob([bytes], {type: "image/png"}));
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext("2d");
  context.fillStyle = "#fff";
  context.fillRect(0, 0, bitmap.width, bitmap.height);
  context.drawImage(bitmap, 0, 0);
  const rgba = context.getImageData(0, 0, bitmap.width, bitmap.height).data;
  let grey = "";
  for (let i = 0; i < rgba.length; i += 4) {
    grey += String.fromCharCode((rgba[i] * 299 + rgba[i + 1] * 587 + rgba[i + 2] * 114) / 1000);
  }
  return {width: bitmap.width, height: bitmap.height, grey: btoa(grey)};
}"""


def decoded(page, png: bytes) -> list[str]:
    """What a QR reader (zxing-cpp) reads in a screenshot."""
    image = page.evaluate(GREY_PIXELS, base64.b64encode(png).decode())
    grey = memoryview(base64.b64decode(image["grey"]))
    return [
        code.text
        for code in zxingcpp.read_barcodes(grey.cast("B", (image["height"], image["width"])))
    ]


def test_it_shows_for_every_channel_a_qr_code_that_reads_as_its_link(browser_page, page_url):
    # given a desktop visitor on the page of a shop with an account of every kind
    browser_page.set_viewport_size(DESKTOP)
    browser_page.goto(page_url)

    # when each channel's QR code is photographed as the screen shows it
    channels = browser_page.locator("li.channel")
    shots = []
    for index in range(channels.count()):
        button = channels.nth(index).locator("a.button")
        png = channels.nth(index).locator(".qr svg").screenshot()
        shots.append((button.get_attribute("data-kind"), button.get_attribute("href"), png))

    # then every kind is there once, and a QR reader reads each code as its button's link
    assert sorted(kind for kind, _, _ in shots) == sorted(LINKED_KINDS)
    reader = browser_page.context.new_page()  # decodes the pictures away from the page itself
    for kind, link, png in shots:
        assert decoded(reader, png) == [link], kind


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
    # shutdown() waits for serve_forever's next poll: 0.5 s a test at its default.
    threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()

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
