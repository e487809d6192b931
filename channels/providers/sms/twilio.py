"""Twilio Programmable Messaging: the global gateway (https://www.twilio.com/docs/messaging/api).

Send: POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json, HTTP basic auth
(AccountSid:AuthToken), form To, From (or MessagingServiceSid), Body, StatusCallback; 201 with
the message `sid`. Errors are JSON {code, message, status}: 21211 invalid To, 21610 the number
replied STOP, 21614 not a mobile number, 20429 / HTTP 429 too many requests, 20003 bad
credentials. Status callbacks and incoming messages are form posts signed with
X-Twilio-Signature: base64 HMAC-SHA1, keyed by the auth token, of the full URL followed by every
POST parameter's name and value, sorted by name
(https://www.twilio.com/docs/usage/webhooks/webhooks-security).
"""

import base64
import hashlib
import hmac
from typing import Any
from urllib.parse import parse_qsl

from channels.errors import (
    ConfigurationError,
    MalformedPayload,
    RecipientGone,
    RejectedByPolicy,
    RetryAfter,
    Transient,
)
from channels.events import EventKind, NormalizedEvent
from channels.http import PlatformSession

CREDENTIALS = ("account_sid", "auth_token", "from")
# MessageStatus of a status callback -> the receipt it is.
RECEIPTS = {"delivered": EventKind.DELIVERED}
FAILED = ("undelivered", "failed")
GONE = {21610: "replied STOP to the number", 21211: "not a valid number", 21614: "not a mobile"}


def send(session: PlatformSession, base: str, creds: dict[str, str], to: str, text: str,
         callback: str) -> str:  # fmt: skip
    sid = creds.get("account_sid", "")
    auth = base64.b64encode(f"{sid}:{creds.get('auth_token', '')}".encode()).decode()
    form = {"To": to, "Body": text, "StatusCallback": callback}
    sender = creds.get("from", "")
    form["MessagingServiceSid" if sender.startswith("MG") else "From"] = sender
    response = session.post(
        f"{base}/2010-04-01/Accounts/{sid}/Messages.json",
        form=form,
        headers={"Authorization": f"Basic {auth}"},
    )
    try:
        data = response.json()
    except ValueError:
        data = {}
    if response.status_code in (200, 201) and data.get("sid"):
        return str(data["sid"])
    code = data.get("code") if isinstance(data, dict) else None
    reason = f"Twilio {code or response.status_code}: {data.get('message', '')}"[:200]
    if response.status_code == 429 or code == 20429:
        raise RetryAfter(reason, seconds=1)
    if response.status_code >= 500:
        raise Transient(reason, maybe_sent=False, code=response.status_code)
    if code in GONE:
        raise RecipientGone(f"{GONE[code]} ({reason})")
    if response.status_code in (401, 403) or code == 20003:
        raise ConfigurationError(reason)
    raise RejectedByPolicy(reason)


def signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    signed = url + "".join(f"{key}{params[key]}" for key in sorted(params))
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def verified(auth_token: str, url: str, body: bytes, given: str) -> bool:
    params = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return bool(auth_token) and hmac.compare_digest(signature(auth_token, url, params), given)


def parse(body: bytes, now: Any) -> list[NormalizedEvent]:
    params = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    if not sid:
        raise MalformedPayload("no MessageSid")
    status = params.get("MessageStatus") or params.get("SmsStatus") or ""
    if "Body" in params and status in ("", "received"):
        sender = params.get("From", "")
        return [NormalizedEvent(EventKind.TEXT, sender, f"in:{sid}", now, text=params["Body"],
                                raw=params)]  # fmt: skip
    kind = RECEIPTS.get(status)
    if kind is None:
        reason = f"Twilio {status} {params.get('ErrorCode', '')}".strip()
        return [NormalizedEvent(EventKind.UNKNOWN, params.get("To", ""), f"{sid}:{status}", now,
                                message_ids=(sid,), reason=reason, raw=params)]  # fmt: skip
    return [NormalizedEvent(kind, params.get("To", ""), f"{sid}:{status}", now,
                            message_ids=(sid,), raw=params)]  # fmt: skip
