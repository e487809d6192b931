"""The e-mail provider: a RichMessage through Django's e-mail backend (SMTP by default; any ESP
django-anymail supports by setting EMAIL_CHANNEL_BACKEND and ANYMAIL).

Every marketing e-mail carries RFC 8058 one-click unsubscribe headers. Receipts come from two
places: the ESP's tracking webhooks (anymail's normalized events: tracking.py) and, with plain
SMTP, our open pixel and links (views.py). A message id is ours (Message-ID) unless the ESP
returns its own.
"""

import smtplib
import socket
from email.utils import make_msgid
from typing import Any

from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from channels.errors import ConfigurationError, RecipientGone, RejectedByPolicy, Transient
from channels.messages import RichMessage
from channels.providers.base import Provider, SendOptions, WebhookRequest, Window
from channels.providers.email.links import action_url, open_pixel_url, unsubscribe_url
from channels.providers.email.render import render_email


class EmailProvider(Provider):
    kind = "email"
    label = "E-mail"
    credential_keys = ("from_email", "reply_to")
    required_credentials = ("from_email",)
    default_rate_limit = 10.0
    window = Window(hours=None)
    delivery_receipts = True  # the ESP's "delivered"; with SMTP, an open or a click says it
    read_receipts = True  # opens: the ESP's tracking or our pixel
    deep_links = False  # an address comes with the shop's opt-in (contact_consent.py)
    sends_over_http = False  # SMTP or the ESP's client: the journal notes it as it starts
    tracking_path = "/webhooks/anymail/<esp>/tracking/"  # the ESP's, with ANYMAIL_WEBHOOK_SECRET

    def deep_link(self, token: str) -> str:
        return ""

    def verify(self, request: WebhookRequest) -> bool:
        return False  # ESP tracking arrives at anymail's webhook views, never at /hooks/

    def parse(self, request: WebhookRequest) -> list:
        return []

    def register_webhook(self, url: str) -> None:
        """Nothing to register here: the ESP's tracking webhook is set in its dashboard."""

    def render(self, message: RichMessage, options: SendOptions) -> list[dict[str, Any]]:
        if not (message.text.strip() or message.cards or message.image_url):
            return []
        delivery = int(options.idempotency_key) if options.idempotency_key.isdigit() else None
        if delivery is None:  # a test send: links that only say so
            unsubscribe, pixel = f"{settings.PUBLIC_BASE_URL}/e/test-send/", ""

            def action(payload: str) -> str:
                return unsubscribe
        else:
            unsubscribe, pixel = unsubscribe_url(delivery), open_pixel_url(delivery)

            def action(payload: str) -> str:
                return action_url(delivery, payload)

        email = render_email(message, action=action, unsubscribe=unsubscribe, pixel=pixel)
        headers = {}
        if delivery is not None:
            # RFC 8058: a mail client's one-click unsubscribe POSTs "List-Unsubscribe=One-Click".
            headers["List-Unsubscribe"] = f"<{unsubscribe}>"
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        part = {"subject": email.subject, "text": email.text, "html": email.html}
        # "body" and "links" are for the preview (campaigns/preview_shown.py); not sent as such.
        return [{**part, "headers": headers, "body": message.text, "links": email.links}]

    def send_part(self, recipient: str, part: dict[str, Any], options: SendOptions) -> str:
        sender = self.credential("from_email")
        if not sender:
            raise ConfigurationError("the e-mail account has no from_email")
        message_id = make_msgid(domain=sender.rpartition("@")[2] or None)
        mail = EmailMultiAlternatives(
            subject=part["subject"],
            body=part["text"],
            from_email=sender,
            to=[recipient],
            reply_to=[self.credential("reply_to")] if self.credential("reply_to") else None,
            headers={**part["headers"], "Message-ID": message_id},
            connection=get_connection(settings.EMAIL_CHANNEL_BACKEND),
        )
        mail.attach_alternative(part["html"], "text/html")
        try:
            mail.send()
        except (AnymailRecipientsRefused, smtplib.SMTPRecipientsRefused) as exc:
            raise RecipientGone(f"address refused: {exc}"[:200]) from exc
        except smtplib.SMTPResponseException as exc:
            if 500 <= exc.smtp_code < 600:
                raise RejectedByPolicy(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"[:200]) from exc
            raise Transient(f"SMTP {exc.smtp_code}", maybe_sent=False, code=exc.smtp_code) from exc
        except (ConnectionRefusedError, socket.gaierror) as exc:
            raise Transient(f"mail server unreachable: {exc!r}"[:200], maybe_sent=False) from exc
        except (TimeoutError, smtplib.SMTPServerDisconnected, ConnectionError) as exc:
            # Cut off mid-conversation: the server may have queued it after all.
            raise Transient(f"mail server: {exc!r}"[:200], maybe_sent=True) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise Transient(f"mail server: {exc!r}"[:200], maybe_sent=False) from exc
        except AnymailAPIError as exc:
            status = getattr(exc, "status_code", None) or 0
            if 400 <= status < 500 and status != 429:
                raise RejectedByPolicy(f"ESP {status}: {exc}"[:200]) from exc
            raise Transient(f"ESP: {exc}"[:200], maybe_sent=status >= 500) from exc
        status = getattr(mail, "anymail_status", None)
        return (getattr(status, "message_id", None) or message_id).strip("<>")


PROVIDER = EmailProvider
