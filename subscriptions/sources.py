"""Where a subscription came from: the sources, the device class and the UTM tags of a link.

A source is never taken from a query parameter: it is signed into the link
(subscriptions/links.py) or follows from the page itself (the embed, the hosted page), and is
recorded on the visit (LinkVisit) that the messenger's start token names.
"""

from functools import lru_cache

from django.http import HttpRequest
from ua_parser import parse

CHECKOUT_EMBED = "checkout_embed"  # the hosted page framed in the shop's checkout (embed.js)
HOSTED_PAGE = "hosted_page"  # the order's hosted page opened on its own
ORDER_EMAIL = "order_email"  # the link in the order confirmation e-mail
ACCOUNT_PAGE = "account_page"  # the customer's account page on the shop
EMAIL_FOOTER = "email_footer"  # the footer of the shop's e-mails to a known customer
QR_SCAN = "qr_scan"  # a printed QR code (in the box, on a flyer): no customer
AD = "ad"  # an ad's link: no customer
SANDBOX = "sandbox"  # our own web messenger, for trying the flow
DEEP_LINK = "deep_link"  # an order token straight into a messenger: where it was shown is unknown
CHECKOUT_CONSENT = "checkout_consent"  # an e-mail or SMS opt-in the order API passed on

SOURCES = {
    CHECKOUT_EMBED: "Checkout embed",
    HOSTED_PAGE: "Hosted page",
    ORDER_EMAIL: "Order confirmation e-mail",
    ACCOUNT_PAGE: "Account page",
    EMAIL_FOOTER: "E-mail footer",
    QR_SCAN: "QR scan",
    AD: "Ad",
    SANDBOX: "Sandbox",
    DEEP_LINK: "Deep link",
    CHECKOUT_CONSENT: "Checkout opt-in (e-mail, SMS)",
}
ORDER_SOURCES = frozenset({HOSTED_PAGE, ORDER_EMAIL})  # a signed order link may say these
CUSTOMER_SOURCES = frozenset({ACCOUNT_PAGE, EMAIL_FOOTER})
CAMPAIGN_SOURCES = frozenset({QR_SCAN, AD})

DEVICES = ("phone", "tablet", "desktop", "bot", "unknown")
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


def device_class(user_agent: str) -> str:
    """phone, tablet, desktop, bot or unknown, by uap-core's rules (ua-parser)."""
    return _device_class(user_agent[:512])


@lru_cache(maxsize=1024)
def _device_class(user_agent: str) -> str:
    if not user_agent:
        return "unknown"
    result = parse(user_agent)
    device = result.device.family if result.device else "Other"
    os = result.os.family if result.os else "Other"
    if device == "Spider":
        return "bot"
    if device == "iPad" or "Tablet" in device or (os == "Android" and "Mobile" not in user_agent):
        return "tablet"
    if os in {"Windows", "Mac OS X", "Linux", "Ubuntu", "Chrome OS", "Fedora"}:
        return "desktop"  # uap-core names a Mac's device "Mac": the OS decides first
    if os in {"iOS", "Android", "Windows Phone", "BlackBerry OS", "KaiOS"} or device != "Other":
        return "phone"
    return "unknown"


def utm_tags(request: HttpRequest) -> dict[str, str]:
    """The utm_* parameters the link carried (each cut to 100 characters)."""
    return {key: request.GET[key][:100] for key in UTM_KEYS if request.GET.get(key)}
