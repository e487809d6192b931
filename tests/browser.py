"""Headless Chromium for tests marked `browser`: Debian's /usr/bin/chromium, driven by Playwright.

`bin/ensure-browser` installs the browser; without it these tests skip and say why. Playwright's
own browser download (`playwright install`) is never used: it needs a CDN we cannot reach.

Use in a test module:  from tests.browser import browser_page_fixture  # noqa: F401
and take `browser_page` as an argument.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # we run as root in a container, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Nothing but the page under test may touch the network: no updates, sync or telemetry.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}  # an iPhone 12-15 class screen, in CSS pixels
TIMEOUT_MS = 10_000


@pytest.fixture(name="browser_page")
def browser_page_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """A Playwright page (sync API) at phone size in a fresh profile; skips without Chromium.

    Use it with `live_server` (a transactional database): while the page is open, the test's ORM
    calls run on their own connection, outside any test transaction.
    """
    if not CHROMIUM.exists():
        pytest.skip(f"no browser: {CHROMIUM} is missing (run bin/ensure-browser as root)")
    from playwright.sync_api import sync_playwright

    # Sync Playwright runs an event loop in this thread, and Django refuses ORM calls from a
    # thread with a running loop. Our ORM use here is plain synchronous code, so allow it.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from django.db import connections

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=PHONE,
            locale="en-US",
            has_touch=False,
        )
        context.set_default_timeout(TIMEOUT_MS)
        page = context.pages[0] if context.pages else context.new_page()
        try:
            yield page
        finally:
            context.close()
            # While the loop runs, Django keeps connections per async context, not per thread:
            # the test's queries used a connection of their own. Close it here, in that context,
            # or it outlives the test and blocks dropping the test database.
            connections.close_all()
