"""Where subscribers come from: every source, through the real pages, the /s/go/ redirect and
the platforms' real start webhooks; the device and UTM tags of the page; tampered links."""

import re

import pytest
from itsdangerous.encoding import base64_decode, base64_encode
from rest_framework.test import APIClient

from subscriptions import sources
from subscriptions.links import signed_link_url
from subscriptions.models import ApiKey, ConsentEvent, Customer, LinkVisit, Subscription
from subscriptions.tokens import order_token_issue
from tests.factories import ChannelAccountFactory, CustomerFactory, OrderFactory
from tests.subscriptions.hooks import post_hook, sender, start_webhook

pytestmark = pytest.mark.django_db

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
IPAD = "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko)"
ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Mobile Safari/537.36"
)
DESKTOP = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Safari/537.36"
)
BOT = "TelegramBot (like TwitterBot)"


def local(url: str, settings) -> str:
    return url.removeprefix(settings.PUBLIC_BASE_URL)


def subscribe_through(client, settings, page: str, kind: str, *, ua: str) -> tuple[str, object]:
    """Open `page` with `ua`, press `kind`'s button, follow the redirect, press Start."""
    account = ChannelAccountFactory(kind=kind)
    response = client.get(local(page, settings), HTTP_USER_AGENT=ua)
    assert response.status_code == 200
    buttons = dict(re.findall(r'data-kind="(\w+)" href="([^"]+)"', response.content.decode()))
    redirect = client.get(local(buttons[kind], settings), HTTP_USER_AGENT=ua)
    assert redirect.status_code == 302
    body = start_webhook(kind, redirect["Location"])
    assert post_hook(client, account, body).status_code == 200
    return sender(kind, body), account


@pytest.fixture
def order():
    customer = CustomerFactory(external_id="C-1", phone="+49 151 0000 0000")
    return OrderFactory(external_id="A-1001", customer=customer)


def order_page(order, *, embed: bool = False) -> str:
    return f"/s/{order_token_issue(order)}/" + ("?embed=1" if embed else "")


# source -> (how its link is made, the messenger, the device, the subscriber is the order's)
CASES = {
    sources.CHECKOUT_EMBED: (lambda o: order_page(o, embed=True), "telegram", IPHONE, "phone"),
    sources.HOSTED_PAGE: (lambda o: order_page(o), "viber", DESKTOP, "desktop"),
    sources.ORDER_EMAIL: (
        lambda o: signed_link_url(source=sources.ORDER_EMAIL, order=o), "vk", IPAD, "tablet"
    ),
    sources.ACCOUNT_PAGE: (
        lambda o: signed_link_url(source=sources.ACCOUNT_PAGE, customer=o.customer),
        "telegram", ANDROID, "phone",
    ),
    sources.EMAIL_FOOTER: (
        lambda o: signed_link_url(source=sources.EMAIL_FOOTER, customer=o.customer),
        "messenger", DESKTOP, "desktop",
    ),
    sources.QR_SCAN: (
        lambda o: signed_link_url(source=sources.QR_SCAN, name="box-insert-2026"),
        "whatsapp", ANDROID, "phone",
    ),
    sources.AD: (
        lambda o: signed_link_url(source=sources.AD, name="spring-ad"), "telegram", IPHONE, "phone"
    ),
    sources.SANDBOX: (lambda o: order_page(o), "sandbox", DESKTOP, "desktop"),
}  # fmt: skip
UTM = "utm_source=instagram&utm_medium=story&utm_campaign=spring"


@pytest.mark.parametrize("source", sorted(CASES))
def test_it_records_the_source_device_and_utm_of_each_way_in(client, settings, order, source):
    # given a link of `source`, carrying UTM tags, opened on a device
    make, kind, ua, device = CASES[source]
    page = make(order)
    page += ("&" if "?" in page else "?") + UTM
    # when the customer presses the messenger's button and Start
    user, account = subscribe_through(client, settings, page, kind, ua=ua)

    # then the subscription records the source, the device and the tags
    subscription = Subscription.objects.get(account=account, platform_user_id=user)
    assert subscription.is_active
    assert (subscription.source, subscription.device) == (source, device)
    assert subscription.utm == {
        "utm_source": "instagram", "utm_medium": "story", "utm_campaign": "spring"
    }  # fmt: skip
    assert subscription.account.kind == kind  # the channel
    # and is linked to whom the link names: the order's customer, the customer, or nobody yet
    if source in {sources.QR_SCAN, sources.AD}:
        assert subscription.customer.is_anonymous and subscription.order is None
        assert subscription.attribution in {"box-insert-2026", "spring-ad"}
    elif source in sources.CUSTOMER_SOURCES:
        assert (subscription.customer, subscription.order) == (order.customer, None)
    else:
        assert (subscription.customer, subscription.order) == (order.customer, order)
    assert LinkVisit.objects.get().redirects == 1


def test_a_bare_order_token_in_a_messenger_is_a_deep_link_of_unknown_device(client, order):
    account = ChannelAccountFactory(kind="telegram")
    link = account.provider().deep_link(order_token_issue(order))
    body = start_webhook("telegram", link)

    post_hook(client, account, body)

    subscription = Subscription.objects.get()
    assert (subscription.source, subscription.device, subscription.utm) == ("deep_link", "", {})


def test_a_link_preview_bot_opens_the_page_without_counting_a_visit(client, order):
    ChannelAccountFactory(kind="telegram")

    response = client.get(order_page(order), HTTP_USER_AGENT=BOT)

    assert response.status_code == 200 and "t.me/" in response.content.decode()
    assert not LinkVisit.objects.exists()


def _recoded(code: str, source: str) -> str:
    """The link with another source in its payload and its old signature."""
    payload, signature = code.rsplit(".", 1)
    data = base64_decode(payload).replace(b'"qr_scan"', f'"{source}"'.encode())
    return f"{base64_encode(data).decode()}.{signature}"


def test_a_tampered_link_opens_nothing_and_links_nothing(client, settings, order):
    ChannelAccountFactory(kind="telegram")
    good = local(signed_link_url(source=sources.QR_SCAN, name="box"), settings)
    code = good.split("/")[3]
    flipped = code[:-1] + ("A" if code[-1] != "A" else "B")

    for bad in (flipped, _recoded(code, sources.AD)):
        assert client.get(f"/s/l/{bad}/").status_code == 404
    assert not LinkVisit.objects.exists()
    # a changed visit token in the redirect goes nowhere either
    visit_token = _visit_token(client, good)
    forged = visit_token[:-2] + ("AA" if visit_token[-2:] != "AA" else "BB")
    account = ChannelAccountFactory(kind="telegram")
    assert client.get(f"/s/go/{forged}/{account.pk}/").status_code == 404
    # and a Start carrying it links no one
    post_hook(client, account, start_webhook("telegram", account.provider().deep_link(forged)))
    assert not Subscription.objects.exists()
    assert Customer.objects.filter(is_anonymous=True).count() == 0


def _visit_token(client, page: str) -> str:
    html = client.get(page, HTTP_USER_AGENT=IPHONE).content.decode()
    return re.search(r"/s/go/([A-Za-z0-9_-]+)/", html).group(1)


def test_a_qr_in_the_box_subscriber_is_linked_to_the_customer_by_a_later_order(client, settings):
    # given a WhatsApp chat that subscribed from the QR code in the box: no customer yet
    qr = signed_link_url(source=sources.QR_SCAN, name="box-insert")
    user, account = subscribe_through(client, settings, qr, "whatsapp", ua=ANDROID)
    chat = Subscription.objects.get(account=account, platform_user_id=user)
    assert chat.customer.is_anonymous
    # when the shop posts a later order of a customer with that phone number
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {ApiKey.issue('shop')[1]}")
    body = {
        "external_id": "B-1",
        "customer": {"external_id": "C-9", "phone": f"+{user[:2]} {user[2:]}"},
        "total": "10.00",
        "currency": "EUR",
    }
    assert api.post("/api/v1/orders/", body, format="json").status_code == 201

    # then the chat is the customer's, still from the QR code, with a `linked` consent event
    chat.refresh_from_db()
    assert chat.customer.external_id == "C-9" and chat.is_active
    assert (chat.source, chat.attribution) == (sources.QR_SCAN, "box-insert")
    linked = ConsentEvent.objects.get(kind="linked")
    assert (linked.customer, linked.evidence) == (chat.customer, "order B-1")
    # and the stand-in keeps no copy of the phone number
    assert not Customer.objects.filter(is_anonymous=True).exclude(phone="").exists()


def test_a_qr_in_the_box_subscriber_is_linked_by_the_next_order_token(client, settings, order):
    # given a Telegram chat that subscribed from an ad
    ad = signed_link_url(source=sources.AD, name="spring-ad")
    user, account = subscribe_through(client, settings, ad, "telegram", ua=IPHONE)
    # when the same chat presses Start with the customer's next order link
    body = start_webhook("telegram", account.provider().deep_link(order_token_issue(order)))
    body["update_id"] += 1  # another update than the first Start (not a redelivery)
    post_hook(client, account, body)

    # then it is that customer's chat, linked to the order, and still counted as from the ad
    chat = Subscription.objects.get(account=account, platform_user_id=user)
    assert (chat.customer, chat.order, chat.source) == (order.customer, order, sources.AD)


def test_an_anonymous_chat_is_not_moved_onto_a_customer_active_elsewhere(client, settings, order):
    telegram = ChannelAccountFactory(kind="telegram")
    Subscription.objects.create(customer=order.customer, account=telegram, platform_user_id="1")
    ad = signed_link_url(source=sources.AD, name="spring-ad")
    user, account = subscribe_through(client, settings, ad, "telegram", ua=IPHONE)

    body = start_webhook("telegram", account.provider().deep_link(order_token_issue(order)))
    body["update_id"] += 1  # another update than the first Start (not a redelivery)
    post_hook(client, account, body)

    assert Subscription.objects.get(platform_user_id=user).customer.is_anonymous
