"""Signed links inside an e-mail: unsubscribe (RFC 8058), button actions and the open pixel.

Each names the delivery it came in (so its subscription: the account and the address), signed
with the project's secret, so a link works without a login and cannot be turned against another
address. They do not expire: an unsubscribe link must keep working while the mail sits in an
inbox.
"""

from django.conf import settings
from django.urls import reverse
from itsdangerous import BadData, URLSafeSerializer

SALT = "comeback.email-link"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(settings.SECRET_KEY, salt=SALT)


def _url(name: str, data: list) -> str:
    token = _serializer().dumps(data)
    return settings.PUBLIC_BASE_URL + reverse(f"campaigns:{name}", kwargs={"token": token})


def unsubscribe_url(delivery_id: int) -> str:
    return _url("email-unsubscribe", ["u", delivery_id])


def action_url(delivery_id: int, payload: str) -> str:
    """A reply button as a link: opening it is pressing the button (a survey score, STOP, …)."""
    return _url("email-action", ["a", delivery_id, payload])


def open_pixel_url(delivery_id: int) -> str:
    return _url("email-open", ["o", delivery_id])


def read(token: str, kind: str) -> list | None:
    """The signed values after the kind tag, or None for a forged, tampered or foreign token."""
    try:
        data = _serializer().loads(token)
    except BadData:
        return None
    if not isinstance(data, list) or not data or data[0] != kind:
        return None
    return data[1:]
