"""Telegram Bot API: POST /bot<TOKEN>/<method> (https://core.telegram.org/bots/api)."""

import re
import time
from collections import Counter
from typing import Any

from channels.fake_platform.base import Answer, Call, IsBlocked, PlatformApi
from channels.fake_platform.bodies import maybe_json
from channels.fake_platform.protocol import HttpRequest

_PATH = re.compile(r"^/bot([^/]*)/([A-Za-z]+)$")
SENDS = ("sendMessage", "sendPhoto", "sendMediaGroup")
METHODS = (*SENDS, "answerCallbackQuery", "setWebhook", "deleteWebhook", "getWebhookInfo", "getMe")
# The Bot API matches method names case-insensitively, so "sendmessage" works too.
_CANONICAL = {name.lower(): name for name in METHODS}
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def _fail(code: int, description: str, **extra: Any) -> Answer:
    return Answer(code, {"ok": False, "error_code": code, "description": description, **extra})


def _ok(result: Any, **extra: Any) -> Answer:
    return Answer(200, {"ok": True, "result": result, **extra})


def _bad(description: str) -> Answer:
    return _fail(400, f"Bad Request: {description}")


class TelegramApi(PlatformApi):
    name = "telegram"
    send_kinds = frozenset(SENDS)

    def __init__(self) -> None:
        self._message_ids: Counter[tuple[str, str]] = Counter()  # ids are per chat
        self._webhooks: dict[str, dict[str, Any]] = {}

    def clear(self) -> None:
        self._message_ids.clear()
        self._webhooks.clear()

    def parse(self, request: HttpRequest) -> Call | None:
        match = _PATH.match(request.path)
        if match is None:
            return None
        token, method = match.groups()
        # Telegram takes parameters from the query string, a form or a JSON object alike.
        params: dict[str, Any] = dict(request.query)
        body = request.json
        params.update(request.form or (body if isinstance(body, dict) else {}))
        kind = _CANONICAL.get(method.lower(), method)
        chat_id = params.get("chat_id")
        recipient = str(chat_id) if kind in SENDS and chat_id not in (None, "") else ""
        return Call(self.name, kind, token, recipient, params)

    def unauthorized(self, call: Call) -> Answer:
        return _fail(401, "Unauthorized")

    def rate_limited(self, call: Call, retry_after: int) -> Answer:
        # Shape from tdlib/telegram-bot-api Query.cpp set_retry_after_error.
        return _fail(
            429,
            f"Too Many Requests: retry after {retry_after}",
            parameters={"retry_after": retry_after},
        )

    def blocked(self, call: Call) -> Answer:
        return _fail(403, "Forbidden: bot was blocked by the user")

    def validate(self, call: Call) -> Answer | None:
        p = call.params
        if call.kind not in METHODS:
            return _fail(404, "Not Found")
        if call.kind in SENDS and not call.recipient:
            return _bad("chat_id is empty")
        if call.kind == "sendMessage":
            text = p.get("text")
            if not isinstance(text, str) or not text.strip():
                return _bad("message text is empty")
            if len(text) > 4096:
                return _bad("message is too long")
        if call.kind == "sendPhoto" and not p.get("photo"):
            return _bad("there is no photo in the request")
        if call.kind == "sendMediaGroup":
            media = maybe_json(p.get("media"))
            if not isinstance(media, list) or not 2 <= len(media) <= 10:
                return _bad("media group must contain 2-10 items")
            if any(len(str(m.get("caption", ""))) > 1024 for m in media if isinstance(m, dict)):
                return _bad("message caption is too long")
        if len(str(p.get("caption", ""))) > 1024:
            return _bad("message caption is too long")
        if call.kind == "answerCallbackQuery":
            if not p.get("callback_query_id"):
                return _bad('parameter "callback_query_id" is required')
            if len(str(p.get("text", ""))) > 200:
                return _bad("MESSAGE_TOO_LONG")
        if call.kind == "setWebhook":
            return _check_webhook(p)
        return _check_keyboard(maybe_json(p.get("reply_markup")))

    def succeed(self, call: Call, is_blocked: IsBlocked) -> Answer:
        p = call.params
        if call.kind == "sendMessage":
            return _ok(self._message(call, text=p["text"]))
        if call.kind == "sendPhoto":
            return _ok(self._message(call, photo=_photo(), caption=p.get("caption")))
        if call.kind == "sendMediaGroup":
            group = str(time.time_ns())
            items = maybe_json(p["media"])
            return _ok([self._media_item(call, item, group) for item in items])
        if call.kind == "setWebhook":
            self._webhooks[call.token] = p
            return _ok(True, description="Webhook was set")
        if call.kind == "deleteWebhook":
            self._webhooks.pop(call.token, None)
            return _ok(True, description="Webhook was deleted")
        if call.kind == "getWebhookInfo":
            return _ok(_webhook_info(self._webhooks.get(call.token, {})))
        if call.kind == "getMe":
            return _ok(_bot(call.token))
        return _ok(True)  # answerCallbackQuery

    def _message(self, call: Call, **content: Any) -> dict[str, Any]:
        self._message_ids[call.token, call.recipient] += 1
        chat_id: int | str = call.recipient
        if call.recipient.lstrip("-").isdigit():
            chat_id = int(call.recipient)
        message = {
            "message_id": self._message_ids[call.token, call.recipient],
            "from": _bot(call.token),
            "chat": {"id": chat_id, "type": "private"},
            "date": int(time.time()),
            **{key: value for key, value in content.items() if value is not None},
        }
        markup = maybe_json(call.params.get("reply_markup"))
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup  # Telegram echoes inline keyboards only
        return message

    def _media_item(self, call: Call, item: Any, group: str) -> dict[str, Any]:
        item = item if isinstance(item, dict) else {}
        kind = str(item.get("type", "photo"))
        content = _photo() if kind == "photo" else {"file_id": f"fake-{kind}", "file_size": 1}
        caption = item.get("caption")
        return self._message(call, media_group_id=group, caption=caption, **{kind: content})


def _check_keyboard(markup: Any) -> Answer | None:
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    if not isinstance(rows, list):
        return None
    for row in rows:
        for button in row if isinstance(row, list) else []:
            data = button.get("callback_data") if isinstance(button, dict) else None
            # The limit is 1-64 *bytes*: Cyrillic or emoji payloads hit it well before 64 chars.
            if data is not None and not 1 <= len(str(data).encode()) <= 64:
                return _bad("BUTTON_DATA_INVALID")
    return None


def _check_webhook(params: dict[str, Any]) -> Answer | None:
    url = str(params.get("url", ""))
    if url and not url.startswith("https://"):
        return _bad("bad webhook: An HTTPS URL must be provided for webhook")
    secret = params.get("secret_token")
    if secret is not None and not _SECRET.match(str(secret)):
        return _bad("secret token contains unallowed characters")
    return None


def _webhook_info(webhook: dict[str, Any]) -> dict[str, Any]:
    info: dict[str, Any] = {
        "url": webhook.get("url", ""),
        "has_custom_certificate": False,
        "pending_update_count": 0,
    }
    for key in ("max_connections", "allowed_updates", "ip_address"):
        if key in webhook:
            info[key] = maybe_json(webhook[key])
    return info


def _bot(token: str) -> dict[str, Any]:
    # A real token is "<bot id>:<secret>", and getMe answers that id.
    prefix = token.split(":", 1)[0]
    bot_id = int(prefix) if prefix.isdigit() else 100000001
    return {"id": bot_id, "is_bot": True, "first_name": "Fake Bot", "username": "fake_bot"}


def _photo() -> list[dict[str, Any]]:
    file_id = f"fake-photo-{time.time_ns()}"
    size = {"file_id": file_id, "file_unique_id": file_id[-12:], "file_size": 1024}
    return [{**size, "width": 90, "height": 90}, {**size, "width": 320, "height": 320}]
