"""Routes a request to a platform and decides its outcome, in the same order for every platform."""

import threading
import time

# Each platform's routes live in its channel's package (a channel is one folder).
from channels.providers.messenger.fake import MessengerApi
from channels.providers.sms.fake import SmsRuApi, TwilioApi
from channels.providers.telegram.fake import TelegramApi
from channels.providers.viber.fake import ViberApi
from channels.providers.vk.fake import VkApi
from channels.providers.whatsapp.fake import WhatsAppApi

from . import control, message_templates
from .base import Answer, Call, PlatformApi, bad_token
from .behaviour import Behaviour
from .protocol import HttpRequest, Response, json_response
from .recorder import Recorder

FAKE_5XX = {"error": "fake 5xx"}


class FakeApp:
    """All state of one fake server, behind one lock shared by the loop and test threads."""

    def __init__(self, max_records: int | None = None) -> None:
        self.lock = threading.RLock()
        self.behaviour = Behaviour()
        self.recorder = Recorder(max_records)
        self.apis: dict[str, PlatformApi] = {
            api.name: api
            for api in (
                TelegramApi(),
                MessengerApi(),
                WhatsAppApi(),
                ViberApi(),
                VkApi(),
                TwilioApi(),
                SmsRuApi(),
            )
        }

    def clear(self) -> None:
        """Forget records and counters (rate windows, message ids, webhooks), keep config."""
        with self.lock:
            self.recorder.clear()
            self.behaviour.clear_windows()
            for api in self.apis.values():
                api.clear()

    def reset(self) -> None:
        with self.lock:
            self.clear()
            self.behaviour.reset()

    def __call__(self, request: HttpRequest) -> Response:
        with self.lock:
            if request.path.startswith("/_fake/"):
                return control.handle(self, request)
            templates = message_templates.answer(request)  # WhatsApp template list (#10)
            if templates is not None:
                return templates
            call = self.apis[_parser(request.path)].parse(request)
            if call is None:
                return json_response(404, {"error": "not found"})
            received_at = time.time()
            answer = self._decide(call, received_at)
            delay = self.behaviour.take_delay(call.platform)
            dropped = self.behaviour.take_drop()
            self.recorder.add(
                platform=call.platform,
                method=request.method,
                path=request.path,
                query=request.query,
                headers=request.headers,
                body=request.body,
                json=request.json,
                form=request.form,
                token=call.token,
                recipient=call.recipient,
                kind=call.kind,
                received_at=received_at,
                answered=answer.status if answer.recorded is None else answer.recorded,
                deduplicated=answer.deduplicated,
                dropped=dropped,
            )
            response = json_response(answer.status, answer.body, delay)
            response.drop = dropped
            return response

    def _decide(self, call: Call, now: float) -> Answer:
        # Injected faults come first: they stand for an outage in front of the platform's logic.
        behaviour = self.behaviour
        status = behaviour.take_fault(call.platform)
        if status is not None:
            return Answer(status, FAKE_5XX)
        override = behaviour.take_error(call.platform)
        if override is not None:
            return Answer(*override)
        api = self.apis[call.platform]
        if bad_token(call.token):
            return api.unauthorized(call)
        retry_after = behaviour.admit(call.token, now)
        if retry_after is not None:
            answer = api.rate_limited(call, retry_after)
            answer.recorded = 429
            return answer
        problem = api.validate(call)
        if problem is not None:
            return problem
        if call.kind in api.send_kinds and behaviour.is_blocked(call.platform, call.recipient):
            return api.blocked(call)
        return api.succeed(call, behaviour.is_blocked)


# Path prefix -> platform whose parser reads it; everything else may be a Graph call, whose
# parser tells Messenger from WhatsApp by the body.
_PREFIXES = (
    ("/bot", "telegram"), ("/pa/", "viber"), ("/method/", "vk"), ("/2010-04-01/", "twilio"),
    ("/sms/", "smsru"),
)  # fmt: skip


def _parser(path: str) -> str:
    for prefix, platform in _PREFIXES:
        if path.startswith(prefix):
            return platform
    return "messenger"
