"""The surface every messenger adapter offers; providers fill in the platform specifics."""

import functools
import hmac
import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from django.conf import settings
from django.http import HttpResponse

from channels.errors import MalformedPayload, RejectedByPolicy, RetryAfter, Transient
from channels.events import NormalizedEvent
from channels.http import PlatformSession, shared_session
from channels.messages import RichMessage

if TYPE_CHECKING:
    from channels.models import ChannelAccount


@dataclass(frozen=True)
class WebhookRequest:
    """What a provider needs of an incoming webhook; built from a Django request or in tests."""

    method: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    query: dict[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    @functools.cached_property
    def decoded(self) -> tuple[dict[str, Any] | None, str]:
        """(the body's JSON object, "") or (None, why it is not one): decoded once for the
        handshake, verify and parse steps."""
        try:
            data = json.loads(self.body)
        except (ValueError, RecursionError):  # RecursionError: absurdly nested JSON
            return None, "body is not JSON"
        if not isinstance(data, dict):
            return None, "body is not a JSON object"
        return data, ""


def json_object(request: WebhookRequest) -> dict[str, Any]:
    """A webhook body's JSON object; MalformedPayload (a 400) for anything else."""
    data, error = request.decoded
    if data is None:
        raise MalformedPayload(error)
    return data


@dataclass(frozen=True)
class Window:
    """How long after the customer's last message free-form sends are allowed, and what after.

    `hours=None` means no window. `outside` is what the platform allows once it has closed:
    "nothing" (skip), "template" (WhatsApp approved template), "intent" (VK non-default intent),
    "tags" (Messenger message tags, each only for its narrow purpose).
    """

    hours: float | None
    outside: str = "nothing"

    def is_open(self, since_last_inbound: timedelta | None) -> bool:
        if self.hours is None:
            return True
        return since_last_inbound is not None and since_last_inbound <= timedelta(hours=self.hours)


@dataclass(frozen=True)
class SendOptions:
    """Per-send context the dispatcher knows and the platform may need."""

    # Stable per delivery: VK's random_id makes a retried send idempotent.
    idempotency_key: str = ""
    # The customer's window has closed: use the platform's out-of-window form (or refuse).
    outside_window: bool = False
    template: str = ""  # WhatsApp template name for outside the window
    template_params: tuple[str, ...] = ()  # its body's {{1}}, {{2}}, … in order, personalized
    template_buttons: tuple[str, ...] = ()  # payloads of its quick-reply buttons, in order
    language: str = "en"
    category: str = "service"  # service / survey / marketing


@dataclass(frozen=True)
class Reply:
    """A message to send to the sender of an inbound event."""

    platform_user_id: str
    message: RichMessage


class Provider:
    kind: ClassVar[str]
    label: ClassVar[str]
    credential_keys: ClassVar[tuple[str, ...]] = ()
    required_credentials: ClassVar[tuple[str, ...]] = ()
    # Needed only to register the webhook (connect_channel without --no-webhook).
    webhook_credentials: ClassVar[tuple[str, ...]] = ()
    # Secret credentials are never shown back in admin or logs.
    secret_credentials: ClassVar[tuple[str, ...]] = ()
    api_base_setting: ClassVar[str] = ""
    default_rate_limit: ClassVar[float] = 10.0  # sends per second per account
    per_recipient_interval: ClassVar[float] = 0.0  # seconds between sends to one customer
    window: ClassVar[Window] = Window(hours=None)
    # The receipts the platform sends for a message we sent (PLATFORMS.md): what "not
    # delivered" and "not read" can mean for it (campaigns/fallbacks.py, campaigns/figures.py).
    delivery_receipts: ClassVar[bool] = False
    # The send API dedupes a repeated request carrying SendOptions.idempotency_key (VK's
    # random_id): a send that may have left can be retried safely (campaigns/dispatch).
    idempotent_sends: ClassVar[bool] = False
    # A chat the customer opens from a deep link (messengers). False for channels that a
    # consent opens instead (e-mail, SMS: subscriptions/contact_consent.py): no subscribe link.
    deep_links: ClassVar[bool] = True
    # Sends go through self.session (HTTP): the send journal notes a row just before its first
    # byte (campaigns/dispatch/journal.py). Otherwise the row is noted as its send starts.
    sends_over_http: ClassVar[bool] = True
    # Where the platform posts events when it is not /hooks/<account>/ (e-mail: anymail's views).
    tracking_path: ClassVar[str] = ""
    # Reply buttons go as numbered choices (SMS): a reply of "2" is the second button's press.
    numbered_replies: ClassVar[bool] = False
    # Paid by length (SMS): tracked links go short (/t/<code>, campaigns/short_links.py).
    short_links: ClassVar[bool] = False
    # A chat's platform user id is the customer's phone number (WhatsApp's wa_id): a later
    # order with that phone links a chat that began without one.
    user_ids_are_phones: ClassVar[bool] = False
    read_receipts: ClassVar[bool] = False
    # True when a Start without a token is the customer's own press (it may re-subscribe),
    # False where the platform reports a start merely because a chat was opened.
    start_is_explicit: ClassVar[bool] = True

    def __init__(self, account: "ChannelAccount", session: PlatformSession | None = None):
        self.account = account
        self.session = session or shared_session()

    # --- configuration ------------------------------------------------------------------------
    @property
    def credentials(self) -> dict[str, str]:
        return self.account.credentials or {}

    def credential(self, key: str) -> str:
        return str(self.credentials.get(key, ""))

    @property
    def api_base(self) -> str:
        base = self.account.api_base or getattr(settings, self.api_base_setting, "")
        return base.rstrip("/")

    # --- deep link ----------------------------------------------------------------------------
    def deep_link(self, token: str) -> str:
        """The URL that opens a conversation with this account carrying `token`."""
        raise NotImplementedError

    # --- webhooks in --------------------------------------------------------------------------
    def handshake(self, request: WebhookRequest) -> HttpResponse | None:
        """Answer a platform's URL-verification request, or None if this is not one."""
        return None

    def verify(self, request: WebhookRequest) -> bool:
        """True if the request provably comes from the platform (constant-time compare)."""
        raise NotImplementedError

    def parse(self, request: WebhookRequest) -> list[NormalizedEvent]:
        """Normalized events in the body; raise MalformedPayload if it cannot be read."""
        raise NotImplementedError

    def answers_inline(self, events: list[NormalizedEvent]) -> bool:
        """True when the webhook's answer must carry the replies to `events` (respond() puts
        them there), so they are handled in the request even when a worker handles the rest."""
        return False

    def respond(
        self, events: list[NormalizedEvent], replies: list[Reply]
    ) -> tuple[HttpResponse, list[Reply]]:
        """The webhook's HTTP answer, and the replies still to be sent through the API."""
        return HttpResponse("ok", content_type="text/plain"), replies

    # --- messages out -------------------------------------------------------------------------
    def render(self, message: RichMessage, options: SendOptions) -> list[dict[str, Any]]:
        """The platform request payload(s) for `message`, within the platform's limits."""
        raise NotImplementedError

    def send(self, recipient: str, message: RichMessage, options: SendOptions | None = None) -> str:
        """Send and return the provider's message id, or raise a `channels.errors` error.

        render() runs first, so a policy refusal happens before any request; then each part
        goes in order and the last one's id is returned. When a later part fails after an
        earlier one went out, a retry would repeat the earlier ones: that failure is reported
        as maybe sent.
        """
        options = options or SendOptions()
        parts = self.render(message, options)
        if not parts:
            raise RejectedByPolicy("nothing to send: the message is empty")
        message_id = ""
        for done, part in enumerate(parts):
            try:
                message_id = self.send_part(recipient, part, options)
            except (RetryAfter, Transient) as exc:
                if done:
                    reason = f"sent {done} of {len(parts)} parts, then: {exc.reason}"
                    raise Transient(reason, maybe_sent=True, code=exc.code) from exc
                raise
        return message_id

    def send_part(self, recipient: str, part: dict[str, Any], options: SendOptions) -> str:
        """Send one rendered payload; the provider's message id for it."""
        raise NotImplementedError

    def billed_units(self, parts: list[dict[str, Any]]) -> int:
        """What sending these rendered parts costs, in the units a price per message is for."""
        return 1

    def register_webhook(self, url: str) -> None:
        """Point the platform's webhook at `url` (raising ConfigurationError on refusal)."""
        raise NotImplementedError

    # --- helpers for providers ----------------------------------------------------------------
    @staticmethod
    def secrets_match(given: str, expected: str) -> bool:
        return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())
