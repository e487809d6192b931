"""Telegram Bot API adapter (https://core.telegram.org/bots/api).

Degradations, all within the documented limits: a carousel becomes one photo (or text) message
per card, each with its own buttons (Telegram has no carousel); text too long for a photo
caption goes out as a photo followed by a separate text message; callback_data over 64 bytes
is replaced by a stable short form (see `callback_data`).
"""

from typing import Any
from urllib.parse import quote

from django.http import HttpResponse, JsonResponse
from django.utils import timezone

from channels.errors import (
    ConfigurationError,
    MalformedPayload,
    RecipientGone,
    RejectedByPolicy,
    RetryAfter,
    SendError,
    Transient,
)
from channels.events import EventKind, NormalizedEvent, platform_id, unix_time
from channels.http import json_or_empty
from channels.messages import RichMessage
from channels.providers.base import (
    Provider,
    Reply,
    SendOptions,
    WebhookRequest,
    Window,
    json_object,
)
from channels.providers.telegram.render import render_message

AUTH_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # https://core.telegram.org/bots/api#setwebhook
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]

# https://core.telegram.org/bots/api#chatmember — the bot's new status in a private chat, which
# changes only when the user blocks ("kicked") or unblocks ("member") the bot.
MEMBER_STATUS_KINDS = {"kicked": EventKind.BLOCKED, "member": EventKind.RESUBSCRIBED}

# https://core.telegram.org/bots/api#making-requests: error_code is the HTTP status. 400: our
# content or parameters; 401/404: bad bot token; 403: "bot was blocked by the user", "user is
# deactivated", "bot can't initiate conversation" (tdlib/telegram-bot-api Client.cpp).
# 429 and 5xx are handled in `_error`.
ERRORS: dict[int, type[SendError]] = {
    400: RejectedByPolicy, 401: ConfigurationError, 403: RecipientGone, 404: ConfigurationError
}  # fmt: skip


class TelegramProvider(Provider):
    kind = "telegram"
    label = "Telegram"
    credential_keys = ("token", "username")
    required_credentials = ("token", "username")
    secret_credentials = ("token",)
    api_base_setting = "TELEGRAM_API_BASE"
    default_rate_limit = 30.0
    per_recipient_interval = 1.0
    window = Window(hours=None)

    def deep_link(self, token: str) -> str:
        """https://core.telegram.org/bots/features#deep-linking"""
        link = f"https://t.me/{self.credential('username')}"
        return f"{link}?start={quote(token, safe='')}" if token else link

    # --- webhooks in --------------------------------------------------------------------------
    def verify(self, request: WebhookRequest) -> bool:
        return self.secrets_match(request.header(AUTH_HEADER), self.account.webhook_secret)

    def parse(self, request: WebhookRequest) -> list[NormalizedEvent]:
        update = json_object(request)
        if not isinstance(update.get("update_id"), int):
            raise MalformedPayload("no update_id")
        event_id = str(update["update_id"])
        if isinstance(update.get("message"), dict):
            return [_message(update, event_id)]
        if isinstance(update.get("callback_query"), dict):
            query = update["callback_query"]
            payload = str(query.get("data", ""))
            return [_event(update, event_id, EventKind.BUTTON, query.get("from"), payload=payload)]
        if isinstance(update.get("my_chat_member"), dict):
            return [_member(update, event_id)]
        return [_event(update, event_id, EventKind.UNKNOWN, _any_sender(update))]

    def respond(
        self, events: list[NormalizedEvent], replies: list[Reply]
    ) -> tuple[HttpResponse, list[Reply]]:
        """Answer a button press in the webhook response itself, to stop its spinner.

        Telegram runs one method given in the webhook answer, at no extra API call
        (https://core.telegram.org/bots/api#making-requests-when-getting-updates).
        """
        for event in events:
            query = event.raw.get("callback_query")
            if isinstance(query, dict) and query.get("id"):
                answer = {"method": "answerCallbackQuery", "callback_query_id": str(query["id"])}
                return JsonResponse(answer), replies
        return super().respond(events, replies)

    # --- messages out -------------------------------------------------------------------------
    def render(self, message: RichMessage, options: SendOptions) -> list[dict[str, Any]]:
        """Bot API calls, each {"method": ..., **parameters} without chat_id."""
        return render_message(message, options)

    def send_part(self, recipient: str, part: dict[str, Any], options: SendOptions) -> str:
        params = {key: value for key, value in part.items() if key != "method"}
        result = self._call(part["method"], {"chat_id": recipient, **params})
        return str(result.get("message_id", "")) if isinstance(result, dict) else ""

    def register_webhook(self, url: str) -> None:
        params = {
            "url": url,
            "secret_token": self.account.webhook_secret,
            "allowed_updates": ALLOWED_UPDATES,
        }
        try:
            self._call("setWebhook", params)
        except (ConfigurationError, RecipientGone, RejectedByPolicy) as exc:
            raise ConfigurationError(f"setWebhook refused: {exc.reason}", code=exc.code) from exc

    def _call(self, method: str, params: dict[str, Any]) -> Any:
        url = f"{self.api_base}/bot{self.credential('token')}/{method}"
        response = self.session.post(url, json_body=params)
        body = json_or_empty(response)
        if response.status_code == 200 and body.get("ok") is True:
            return body.get("result")
        raise _error(response.status_code, body)


def _error(status: int, body: dict[str, Any]) -> SendError:
    code = body.get("error_code") if isinstance(body.get("error_code"), int) else status
    reason = str(body.get("description") or f"HTTP {status}")
    if code == 429:
        retry_after = (body.get("parameters") or {}).get("retry_after")
        seconds = float(retry_after) if isinstance(retry_after, int | float) else 1.0
        return RetryAfter(reason, seconds=seconds, code=code)
    if status >= 500 or code >= 500:
        return Transient(reason, maybe_sent=False, code=code)
    if status == 200:  # 200 without {"ok": true}: it was accepted but the answer got mangled
        return Transient(f"unreadable answer: {reason}", maybe_sent=True, code=code)
    if code == 400 and "chat not found" in reason.lower():
        return RecipientGone(reason, code=code)  # never started the bot, or the id is wrong
    return ERRORS.get(code, RejectedByPolicy)(reason, code=code)


# --- parsing helpers ------------------------------------------------------------------------


def _message(update: dict[str, Any], event_id: str) -> NormalizedEvent:
    message = update["message"]
    sender = message.get("from") or message.get("chat")
    text = message.get("text")
    if not isinstance(text, str):  # a photo, sticker, ... : nothing we act on
        return _event(update, event_id, EventKind.UNKNOWN, sender, reason="message without text")
    command, _, argument = text.partition(" ")
    # "/start <payload>" from a deep link; "/start@<bot>" when typed in a group.
    if command == "/start" or command.startswith("/start@"):
        return _event(update, event_id, EventKind.START, sender, text=text, token=argument.strip())
    return _event(update, event_id, EventKind.TEXT, sender, text=text)


def _member(update: dict[str, Any], event_id: str) -> NormalizedEvent:
    change = update["my_chat_member"]
    member, chat = change.get("new_chat_member"), change.get("chat")
    if not isinstance(member, dict) or not isinstance(chat, dict):
        raise MalformedPayload("my_chat_member without new_chat_member and chat objects")
    status, private = str(member.get("status")), chat.get("type") == "private"
    kind = MEMBER_STATUS_KINDS.get(status, EventKind.UNKNOWN) if private else EventKind.UNKNOWN
    reason = "blocked the bot" if kind == EventKind.BLOCKED else ""
    return _event(update, event_id, kind, change.get("from"), reason=reason)


def _any_sender(update: dict[str, Any]) -> dict[str, Any] | None:
    for value in update.values():
        if isinstance(value, dict) and isinstance(value.get("from"), dict):
            return value["from"]
    return None


def _event(
    update: dict[str, Any],
    event_id: str,
    kind: EventKind,
    sender: Any,
    **fields: Any,
) -> NormalizedEvent:
    sender = sender if isinstance(sender, dict) else {}
    user = platform_id(sender.get("id"))
    if not user and kind != EventKind.UNKNOWN:
        raise MalformedPayload(f"{kind} update without a sender id")
    body = next((v for v in update.values() if isinstance(v, dict)), {})
    return NormalizedEvent(
        kind=kind,
        platform_user_id=user,
        event_id=event_id,
        occurred_at=unix_time(body.get("date")) or timezone.now(),
        user_name=str(sender.get("first_name", "")),
        locale=str(sender.get("language_code", "")),
        raw=update,
        **fields,
    )


PROVIDER = TelegramProvider
