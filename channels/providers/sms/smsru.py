"""SMS.ru: a gateway widely used by shops in Russia (https://sms.ru/api).

Send: POST {base}/sms/send with api_id, to, msg, from (an approved sender name, optional),
json=1; the answer is JSON {status, status_code, sms: {<phone>: {status, status_code, sms_id,
status_text}}}: 100 accepted; 202 invalid number, 207 no route to it (the number is gone for
us); 200 bad api_id, 201 no money left, 204/206 the sender name or the daily limit (our
configuration); 220 service unavailable (retry). Delivery reports are POSTed to the callback
URL set in the SMS.ru dashboard as data[] lines "sms_status\\n<sms_id>\\n<status_code>"; 103 is
delivered, 104-108 and 150 not delivered; the gateway wants "100" back. They are not signed,
so the callback URL carries our secret (`?secret=<account webhook secret>`).
"""

from typing import Any
from urllib.parse import parse_qsl

from channels.errors import (
    ConfigurationError,
    MalformedPayload,
    RecipientGone,
    RejectedByPolicy,
    Transient,
)
from channels.events import EventKind, NormalizedEvent
from channels.http import PlatformSession

CREDENTIALS = ("api_id", "from")
GONE = {202: "invalid number", 207: "no route to the number"}
CONFIG = {200: "bad api_id", 201: "no money on the SMS.ru account", 204: "sender name not approved",
          206: "daily limit reached"}  # fmt: skip
DELIVERED, NOT_DELIVERED = 103, {104, 105, 106, 107, 108, 150}


def send(session: PlatformSession, base: str, creds: dict[str, str], to: str, text: str) -> str:
    form = {"api_id": creds.get("api_id", ""), "to": to.lstrip("+"), "msg": text, "json": "1"}
    if creds.get("from"):
        form["from"] = creds["from"]
    response = session.post(f"{base}/sms/send", form=form)
    if response.status_code >= 500:
        raise Transient(f"SMS.ru HTTP {response.status_code}", maybe_sent=False)
    try:
        data = response.json()
        code = int(data.get("status_code", 0))
        number = next(iter((data.get("sms") or {}).values()), {})
    except (ValueError, TypeError, AttributeError, StopIteration):
        raise Transient("SMS.ru: unreadable answer", maybe_sent=True) from None
    if code == 100 and int(number.get("status_code", 0)) == 100:
        return str(number.get("sms_id", ""))
    code = int(number.get("status_code") or code)
    reason = f"SMS.ru {code}: {number.get('status_text') or data.get('status_text', '')}"[:200]
    if code in GONE:
        raise RecipientGone(reason)
    if code in CONFIG:
        raise ConfigurationError(reason)
    if code == 220:
        raise Transient(reason, maybe_sent=False, code=code)
    raise RejectedByPolicy(reason)


def parse(body: bytes, now: Any) -> list[NormalizedEvent]:
    fields = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    lines = [value for key, value in fields if key.startswith("data")]
    if not lines:
        raise MalformedPayload("no data[] lines")
    events = []
    for line in lines:
        parts = line.split("\n")
        if len(parts) < 3 or parts[0] != "sms_status" or not parts[2].strip().isdigit():
            continue  # other callback kinds (e.g. "test") are of no interest
        sms_id, code = parts[1].strip(), int(parts[2])
        kind = EventKind.DELIVERED if code == DELIVERED else EventKind.UNKNOWN
        reason = "" if code == DELIVERED else f"SMS.ru status {code}"
        events.append(NormalizedEvent(kind, "", f"{sms_id}:{code}", now, message_ids=(sms_id,),
                                      reason=reason, raw={"line": line}))  # fmt: skip
    return events
