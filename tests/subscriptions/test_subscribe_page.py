# ruff: noqa: RUF001 - the page speaks Russian and Ukrainian: Cyrillic on purpose
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from subscriptions.tokens import order_token_issue
from tests.factories import ChannelAccountFactory, CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def order():
    ChannelAccountFactory(kind="sandbox", name="sandbox")
    ChannelAccountFactory(kind="telegram", name="shop-telegram")
    ChannelAccountFactory(kind="whatsapp", name="shop-whatsapp")
    ChannelAccountFactory(kind="vk", name="shop-vk", enabled=False)
    return OrderFactory(external_id="A-1001", customer=CustomerFactory(locale="en"))


def _buttons(html: str) -> list[str]:
    return re.findall(r'<a class="button" data-kind="(\w+)" href="([^"]+)"', html)


def test_it_shows_a_button_and_a_qr_code_per_enabled_channel(client, order, settings):
    # given
    token = order_token_issue(order)

    # when
    response = client.get(f"/s/{token}/")

    # then
    assert response.status_code == 200
    html = response.content.decode()
    buttons = _buttons(html)
    assert [kind for kind, _ in buttons] == ["sandbox", "telegram", "whatsapp"]
    # Each button goes through the counted redirect, with a visit token, to the messenger.
    assert all("/s/go/" in link and token not in link for _, link in buttons)
    telegram = client.get(buttons[1][1].removeprefix(settings.PUBLIC_BASE_URL))
    assert telegram.status_code == 302 and telegram["Location"].startswith("https://t.me/")
    assert html.count("<svg") == 3 and html.count('class="qr"') == 3
    assert "Open Telegram" in html and "A-1001" in html
    assert '<meta name="viewport"' in html and "@media (max-width: 640px)" in html


def test_it_speaks_the_customers_language(client, order):
    order.customer.locale = "ru"
    order.customer.save()

    response = client.get(f"/s/{order_token_issue(order)}/", HTTP_ACCEPT_LANGUAGE="en")

    html = response.content.decode()
    assert '<html lang="ru">' in html
    assert "Открыть Telegram" in html and "Новости о заказе" in html
    assert response["Content-Language"] == "ru"


def test_it_falls_back_to_accept_language_then_english(client, order):
    order.customer.locale = "de"
    order.customer.save()
    token = order_token_issue(order)

    ukrainian = client.get(f"/s/{token}/", HTTP_ACCEPT_LANGUAGE="uk-UA,uk;q=0.9")
    german = client.get(f"/s/{token}/", HTTP_ACCEPT_LANGUAGE="de-DE")

    assert "Відкрити Telegram" in ukrainian.content.decode()
    assert "Open Telegram" in german.content.decode()


@pytest.mark.parametrize("token", ["garbage", "A" * 61])
def test_it_answers_404_with_a_friendly_page_for_a_bad_token(client, settings, db, token):
    response = client.get(f"/s/{token}/", HTTP_ACCEPT_LANGUAGE="ru")

    assert response.status_code == 404
    html = response.content.decode()
    assert "Эта ссылка не работает" in html
    assert f'href="{settings.SHOP_URL}"' in html


def test_it_answers_410_for_an_expired_token(client, order, settings):
    old = timezone.now() - timedelta(days=settings.TOKEN_MAX_AGE_DAYS + 1)

    response = client.get(f"/s/{order_token_issue(order, now=old)}/")

    assert response.status_code == 410
    assert "This link has expired" in response.content.decode()


def test_it_answers_404_for_a_token_of_a_deleted_order(client, order):
    token = order_token_issue(order)
    order.delete()

    assert client.get(f"/s/{token}/").status_code == 404


def test_it_may_be_framed_and_keeps_the_token_private(client, order):
    response = client.get(f"/s/{order_token_issue(order)}/?embed=1")

    assert "X-Frame-Options" not in response
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    assert 'target="_blank"' in html and "comebackHeight" in html


def test_it_keeps_other_pages_unframeable(client, db):
    assert client.get("/s/embed.js")["Content-Type"].startswith("text/javascript")
    assert client.get("/admin/login/")["X-Frame-Options"] == "DENY"


def test_it_serves_the_embed_script_pointing_at_the_public_page(client, settings):
    response = client.get("/s/embed.js")

    assert response.status_code == 200
    script = response.content.decode()
    assert f"{settings.PUBLIC_BASE_URL}/s/TOKEN/" in script
    assert "data-token" in script and "iframe" in script
