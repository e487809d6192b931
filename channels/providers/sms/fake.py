"""The SMS gateways on the fake platform server (channels/fake_platform): Twilio's Messages
resource and SMS.ru's /sms/send, with their bad-credential, rate-limit, blocked-number and
invalid-number answers (the numbers' documented codes, see twilio.py and smsru.py)."""

import base64
import itertools
import re
from typing import Any

from channels.fake_platform.base import Answer, Call, IsBlocked, PlatformApi
from channels.fake_platform.protocol import HttpRequest

TWILIO_PATH = re.compile(r"^/2010-04-01/Accounts/([^/]+)/Messages\.json$")
E164 = re.compile(r"^\+?[1-9][0-9]{6,14}$")


class TwilioApi(PlatformApi):
    name = "twilio"
    send_kinds = frozenset({"Messages"})

    def __init__(self) -> None:
        self._ids = itertools.count(1)

    def clear(self) -> None:
        self._ids = itertools.count(1)

    def parse(self, request: HttpRequest) -> Call | None:
        match = TWILIO_PATH.match(request.path)
        if match is None:
            return None
        form = request.form or {}
        auth = request.headers.get("authorization", "")
        try:  # the auth token is the password of the basic auth; the fake refuses "bad…"
            _, _, token = base64.b64decode(auth.removeprefix("Basic ")).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            token = ""
        return Call(self.name, "Messages", token, form.get("To", ""), dict(form))

    def unauthorized(self, call: Call) -> Answer:
        return Answer(401, {"code": 20003, "message": "Authenticate", "status": 401})

    def rate_limited(self, call: Call, retry_after: int) -> Answer:
        return Answer(429, {"code": 20429, "message": "Too Many Requests", "status": 429})

    def blocked(self, call: Call) -> Answer:
        message = "Attempt to send to unsubscribed recipient"
        return Answer(400, {"code": 21610, "message": message, "status": 400})

    def validate(self, call: Call) -> Answer | None:
        if not E164.match(call.recipient):
            message = f"The 'To' number {call.recipient} is not a valid phone number."
            return Answer(400, {"code": 21211, "message": message, "status": 400})
        if not call.params.get("Body") or len(call.params["Body"]) > 1600:
            return Answer(400, {"code": 21617, "message": "Body too long or empty", "status": 400})
        return None

    def succeed(self, call: Call, is_blocked: IsBlocked) -> Answer:
        sid = f"SM{next(self._ids):032x}"
        return Answer(201, {"sid": sid, "status": "queued", "to": call.recipient})


class SmsRuApi(PlatformApi):
    name = "smsru"
    send_kinds = frozenset({"send"})

    def __init__(self) -> None:
        self._ids = itertools.count(1)

    def clear(self) -> None:
        self._ids = itertools.count(1)

    def parse(self, request: HttpRequest) -> Call | None:
        if request.path != "/sms/send":
            return None
        form: dict[str, Any] = dict(request.form or {}) or dict(request.query)
        return Call(self.name, "send", str(form.get("api_id", "")), str(form.get("to", "")), form)

    def unauthorized(self, call: Call) -> Answer:
        return Answer(200, {"status": "ERROR", "status_code": 200, "status_text": "Bad api_id"})

    def rate_limited(self, call: Call, retry_after: int) -> Answer:
        return self._number(call, 220, "Service temporarily unavailable")

    def blocked(self, call: Call) -> Answer:
        return self._number(call, 207, "No route to this number")

    def validate(self, call: Call) -> Answer | None:
        if not E164.match(call.recipient):
            return self._number(call, 202, "Invalid recipient number")
        return None

    def succeed(self, call: Call, is_blocked: IsBlocked) -> Answer:
        sms_id = f"{next(self._ids):06d}-{10000000 + len(call.recipient)}"
        return self._number(call, 100, "", sms_id=sms_id)

    @staticmethod
    def _number(call: Call, code: int, text: str, **more: Any) -> Answer:
        status = "OK" if code == 100 else "ERROR"
        number = {"status": status, "status_code": code, "status_text": text, **more}
        body = {"status": "OK", "status_code": 100, "sms": {call.recipient: number}, "balance": 100}
        return Answer(200, body, recorded=429 if code == 220 else None)
