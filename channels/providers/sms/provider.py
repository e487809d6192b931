"""The SMS provider: one kind, "sms", over either gateway (credential `gateway`: "twilio" or
"smsru"); both speak HTTP through the dispatcher's session and are tested against the fake
platform server. Why these two: Twilio reaches every country with one API and is what shops
outside the CIS use most; SMS.ru is among the most used by shops in Russia, where the case's
messengers (Telegram, Viber, VK, WhatsApp) are, with local sender names and prices.

Delivery reports and incoming texts (STOP, a numbered choice) come to our webhook
/hooks/<account>/: Twilio signs them (X-Twilio-Signature); SMS.ru's carry the account's webhook
secret in the URL. There are no read receipts; "not read" for fallbacks means not engaged.
"""

from typing import Any

from django.conf import settings
from django.http import HttpResponse

from channels.errors import ConfigurationError
from channels.events import NormalizedEvent
from channels.messages import RichMessage
from channels.providers.base import Provider, Reply, SendOptions, WebhookRequest, Window
from channels.providers.sms import smsru, twilio
from channels.providers.sms.render import render_text
from channels.providers.sms.segments import count

GATEWAYS = ("twilio", "smsru")


class SmsProvider(Provider):
    kind = "sms"
    label = "SMS"
    credential_keys = ("gateway", *twilio.CREDENTIALS, *smsru.CREDENTIALS)
    required_credentials = ("gateway",)
    secret_credentials = ("auth_token", "api_id")
    api_base_setting = "TWILIO_API_BASE"  # SMS.ru's is SMSRU_API_BASE (see api_base)
    default_rate_limit = 10.0
    window = Window(hours=None)
    delivery_receipts = True
    read_receipts = False
    deep_links = False  # a phone number comes with the shop's opt-in (contact_consent.py)
    numbered_replies = True  # render.py: reply buttons are "1 - …", answered with the number
    short_links = True  # campaigns/short_links.py: /t/<code> instead of a 90-character link

    @property
    def gateway(self) -> str:
        gateway = self.credential("gateway")
        if gateway not in GATEWAYS:
            raise ConfigurationError(f"credential gateway must be one of {', '.join(GATEWAYS)}")
        return gateway

    @property
    def api_base(self) -> str:
        if self.account.api_base:
            return self.account.api_base.rstrip("/")
        name = "TWILIO_API_BASE" if self.credential("gateway") != "smsru" else "SMSRU_API_BASE"
        return getattr(settings, name, "").rstrip("/")

    def deep_link(self, token: str) -> str:
        return ""

    def callback_url(self) -> str:
        from channels.links import webhook_url

        url = webhook_url(self.account)
        return f"{url}?secret={self.account.webhook_secret}" if self.gateway == "smsru" else url

    # --- webhooks in --------------------------------------------------------------------------
    def verify(self, request: WebhookRequest) -> bool:
        gateway = self.credential("gateway")
        if gateway == "smsru":
            return self.secrets_match(request.query.get("secret", ""), self.account.webhook_secret)
        if gateway != "twilio":
            return False  # a misconfigured account proves nothing (and must not answer 500)
        given = request.header("x-twilio-signature")
        return bool(given) and twilio.verified(
            self.credential("auth_token"), self.callback_url(), request.body, given
        )

    def parse(self, request: WebhookRequest) -> list[NormalizedEvent]:
        from django.utils import timezone

        now = timezone.now()
        if self.credential("gateway") == "smsru":
            return smsru.parse(request.body, now)
        return twilio.parse(request.body, now)

    def respond(
        self, events: list[NormalizedEvent], replies: list[Reply]
    ) -> tuple[HttpResponse, list[Reply]]:
        if self.credential("gateway") == "smsru":
            return HttpResponse("100", content_type="text/plain"), replies  # SMS.ru wants "100"
        # Twilio takes TwiML; an empty one says "no reply here", replies go through the API.
        empty = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
        return HttpResponse(empty, content_type="text/xml"), replies

    # --- messages out -------------------------------------------------------------------------
    def render(self, message: RichMessage, options: SendOptions) -> list[dict[str, Any]]:
        text = render_text(message)
        if not text:
            return []
        segments = count(text)
        return [{"text": text, "encoding": segments.encoding, "segments": segments.count}]

    def send_part(self, recipient: str, part: dict[str, Any], options: SendOptions) -> str:
        creds = self.credentials
        if self.gateway == "smsru":
            return smsru.send(self.session, self.api_base, creds, recipient, part["text"])
        return twilio.send(
            self.session, self.api_base, creds, recipient, part["text"], self.callback_url()
        )

    def billed_units(self, parts: list[dict[str, Any]]) -> int:
        return sum(part["segments"] for part in parts) or 1  # the gateways bill per segment

    def register_webhook(self, url: str) -> None:
        """Nothing to call: Twilio gets the callback with each message; SMS.ru's is set in its
        dashboard (the URL connect_channel prints, with ?secret=)."""


PROVIDER = SmsProvider
