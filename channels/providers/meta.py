"""What Messenger and WhatsApp share as Meta Graph API platforms: webhooks in, Graph calls out.

Webhook handshake and signature:
https://developers.facebook.com/docs/graph-api/webhooks/getting-started
Graph error envelope: https://developers.facebook.com/docs/graph-api/guides/error-handling
"""

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from django.conf import settings
from django.http import HttpResponse

from channels.errors import (
    ConfigurationError,
    MalformedPayload,
    RecipientGone,
    RejectedByPolicy,
    RetryAfter,
    SendError,
    Transient,
)
from channels.events import EventKind, NormalizedEvent, unix_time
from channels.http import json_or_empty
from channels.messages import Button, short_payload, truncate
from channels.providers.base import (
    Provider,
    SendOptions,
    WebhookRequest,
    json_object,
)

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"
# Meta sends no retry-after; its rate-limit docs say "back off" without a figure, so a minute.
RATE_LIMIT_PAUSE = 60.0
PROMPT = "👇"  # text of a buttons message when the message's own text went out before it
EMPTY_LABEL = "…"  # a button or card without any text of its own


@dataclass(frozen=True)
class Rule:
    """How one Graph error code is classified; `seconds` is the pause for RetryAfter."""

    error: type[SendError]
    reason: str
    seconds: float = 0.0


ErrorTable = dict[tuple[int | None, int | None], Rule]  # (code, error_subcode or None) -> rule

# Generic Graph codes, shared by both platforms; each provider adds its own table on top.
# Source: Graph API "Handling Errors" (link above).
GRAPH_ERRORS: ErrorTable = {
    (1, None): Rule(Transient, "Graph API unknown error"),
    (2, None): Rule(Transient, "Graph API service temporarily unavailable"),
    (4, None): Rule(RetryAfter, "application request limit reached", RATE_LIMIT_PAUSE),
    (10, None): Rule(ConfigurationError, "permission denied"),
    (17, None): Rule(RetryAfter, "user request limit reached", RATE_LIMIT_PAUSE),
    (32, None): Rule(RetryAfter, "page request limit reached", RATE_LIMIT_PAUSE),
    (100, None): Rule(RejectedByPolicy, "invalid parameter"),
    # "Object with ID ... does not exist, cannot be loaded due to missing permissions": a wrong
    # page_id / phone_number_id or a token without access to it.
    (100, 33): Rule(ConfigurationError, "unknown object or missing permission"),
    (190, None): Rule(ConfigurationError, "access token invalid or expired"),
    (200, None): Rule(ConfigurationError, "permission error"),
    (613, None): Rule(RetryAfter, "calls exceeded the rate limit", RATE_LIMIT_PAUSE),
    (2500, None): Rule(ConfigurationError, "no access token"),
}


def graph_error(status: int, body: dict[str, Any], table: ErrorTable) -> SendError:
    """Classify a Graph error answer with `table` (code, subcode) -> Rule."""
    error = body.get("error") if isinstance(body.get("error"), dict) else None
    if error is None:
        if status == 429:
            return RetryAfter(f"HTTP {status}", seconds=RATE_LIMIT_PAUSE, code=status)
        if status >= 500:
            return Transient(f"HTTP {status} from the Graph API", code=status)
        # A 4xx without a Graph error body is not the Graph API answering: wrong api_base.
        return ConfigurationError(f"HTTP {status} without a Graph error body", code=status)
    code, subcode = as_int(error.get("code")), as_int(error.get("error_subcode"))
    message = str(error.get("message") or f"HTTP {status}")
    label = f"{code}/{subcode}" if subcode else str(code)
    rule = table.get((code, subcode)) or table.get((code, None))
    if rule is None:
        if status >= 500:
            return Transient(f"Graph API error: {message}", code=label)
        # No retry on an unknown 4xx: the same request would be refused again.
        return RejectedByPolicy(f"unclassified Graph API error: {message}", code=label)
    reason = f"{rule.reason}: {message}"
    if rule.error is RecipientGone and status >= 500:
        # A server error never proves the person is gone: losing a subscriber to an outage
        # cannot be undone.
        return Transient(reason, code=label)
    if rule.error is RetryAfter:
        return RetryAfter(reason, seconds=rule.seconds, code=label)
    return rule.error(reason, code=label)


def as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: Infinity, which json reads
        return None


def meta_time(value: Any) -> datetime | None:
    """A Meta timestamp: ms ints on Messenger, second strings on WhatsApp and dashboard tests."""
    number = as_int(value)
    if number is None:
        return None
    # Seconds stay below 1e11 until the year 5138; milliseconds are above it since 1973.
    return unix_time(number, per_second=1000 if number > 100_000_000_000 else 1)


def stable_id(prefix: str, item: Any) -> str:
    """An event id for items without one: the same JSON always gives the same id."""
    canonical = json.dumps(item, sort_keys=True, separators=(",", ":"), default=str)
    return f"{prefix}:{hashlib.sha256(canonical.encode()).hexdigest()[:32]}"


def event(
    kind: EventKind, user: str, event_id: str, timestamp: Any, raw: Any, **fields: Any
) -> NormalizedEvent:
    """A normalized event at a Meta `timestamp` (now when it has none)."""
    return NormalizedEvent(
        kind=kind,
        platform_user_id=user,
        event_id=event_id,
        occurred_at=meta_time(timestamp) or datetime.now(tz=UTC),
        raw=raw if isinstance(raw, dict) else {"item": raw},
        **fields,
    )


def unknown(user: str, item: Any, reason: str = "") -> NormalizedEvent:
    """A verified item we do not act on, stored for the record."""
    return event(EventKind.UNKNOWN, user, stable_id("unknown", item), None, item, reason=reason)


def other_node(given: Any, ours: str) -> bool:
    """True if an event names a Page / phone number id that is not this account's.

    One Meta app delivers every Page's (every number's) events to the same callback URL. Only
    numeric ids are compared: "0" is the App Dashboard's test sender, "me" a valid Graph alias.
    """
    given = str(given or "")
    return given.isdigit() and given != "0" and ours.isdigit() and given != ours


def button_title(button: Button, limit: int) -> str:
    """A button's label within `limit`; never blank, which Meta refuses."""
    label = next((t for t in (button.text, button.payload) if t.strip()), EMPTY_LABEL)
    return truncate(label, limit)


def button_payload(button: Button, limit: int) -> str:
    """A postback payload / reply id within `limit`, never empty: long ones in their stable
    short form (`messages.short_payload`), so distinct payloads stay distinct."""
    return short_payload(button.payload or button.text, lambda payload: len(payload) <= limit)


class MetaProvider(Provider):
    """Graph API platforms: subclasses set the error table and fill parse/render/addressing."""

    api_base_setting = "GRAPH_API_BASE"
    graph_errors: ClassVar[ErrorTable] = GRAPH_ERRORS

    @property
    def graph_url(self) -> str:
        return f"{self.api_base}/{settings.GRAPH_API_VERSION}"

    # --- webhooks in --------------------------------------------------------------------------
    def handshake(self, request: WebhookRequest) -> HttpResponse | None:
        """Echo hub.challenge when hub.verify_token matches; any other GET is refused."""
        if request.method != "GET":
            return None
        query = request.query
        token_ok = self.secrets_match(
            query.get("hub.verify_token", ""), self.credential("verify_token")
        )
        if query.get("hub.mode") == "subscribe" and token_ok:
            return HttpResponse(query.get("hub.challenge", ""), content_type="text/plain")
        return HttpResponse("forbidden", status=403, content_type="text/plain")

    def verify(self, request: WebhookRequest) -> bool:
        """X-Hub-Signature-256 is sha256=<hex HMAC-SHA256 of the raw body with the app secret>."""
        scheme, _, given = request.header(SIGNATURE_HEADER).partition("=")
        secret = self.credential("app_secret")
        if scheme != "sha256" or not given or not secret:
            return False
        expected = hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
        return self.secrets_match(given.strip().lower(), expected)

    @staticmethod
    def envelope(request: WebhookRequest) -> tuple[str, list[dict[str, Any]]]:
        """`object` and `entry` of a Meta webhook body; MalformedPayload if it is not one."""
        body = json_object(request)
        if not isinstance(body.get("object"), str):
            raise MalformedPayload("not a Meta webhook envelope: no 'object'")
        entries = body.get("entry")
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise MalformedPayload("'entry' is not a list of objects")
        return body["object"], entries

    # --- messages out -------------------------------------------------------------------------
    def send_part(self, recipient: str, part: dict[str, Any], options: SendOptions) -> str:
        # The Graph API has no idempotency key: a retry after a partial send repeats (base).
        body = self.graph_post(
            f"{self.graph_url}/{self.node}/messages", self.address(recipient, part)
        )
        return self.message_id(body)

    def register_webhook(self, url: str) -> None:
        """Subscribe the app to the node's events; the callback URL itself is set by hand."""
        try:
            body = self.graph_post(
                f"{self.graph_url}/{self.subscription_node}/subscribed_apps",
                None,
                self.subscription_params(),
            )
        except (RetryAfter, RecipientGone, RejectedByPolicy, ConfigurationError) as exc:
            raise ConfigurationError(
                f"subscribed_apps refused: {exc.reason}", code=exc.code
            ) from exc
        if body.get("success") is not True:
            raise ConfigurationError(f"subscribed_apps did not succeed: {body}")
        # The Graph API cannot set an app's callback URL with a Page/system-user token.
        log.info(
            "%s %s: set the callback URL %s and verify token in the App Dashboard",
            self.kind,
            self.account.name,
            url,
        )

    def graph_post(
        self, url: str, payload: dict[str, Any] | None, params: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """POST to the Graph API with this account's auth; classified errors are raised."""
        auth_params, headers = self.auth()
        response = self.session.post(
            url, json_body=payload, params={**auth_params, **(params or {})}, headers=headers
        )
        body = json_or_empty(response)
        if response.status_code >= 400 or "error" in body:
            raise graph_error(response.status_code, body, self.graph_errors)
        return body

    # --- hooks for the platform modules -------------------------------------------------------
    @property
    def node(self) -> str:
        """The Graph node that sends messages and subscribes the app (page / phone number id)."""
        raise NotImplementedError

    @property
    def subscription_node(self) -> str:
        """The Graph node the app subscribes to for webhooks (the send node unless overridden)."""
        return self.node

    def auth(self) -> tuple[dict[str, str], dict[str, str]]:
        """(query params, headers) that authenticate a Graph call."""
        raise NotImplementedError

    def address(self, recipient: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The request body: `payload` from render() addressed to `recipient`."""
        raise NotImplementedError

    def message_id(self, body: dict[str, Any]) -> str:
        raise NotImplementedError

    def subscription_params(self) -> dict[str, str]:
        return {}
