"""How a RichMessage goes out on the sandbox: the request bodies, within every documented limit
(the provider, provider.py, sends them)."""

from typing import Any

from channels.messages import RichMessage, truncate
from channels.providers.base import SendOptions

# Not platform limits (the page shows every block); a guard so a runaway message can't flood it.
MAX_TEXT = 4096
MAX_CARDS = 10


def render_message(message: RichMessage, options: SendOptions) -> list[dict[str, Any]]:
    body = message.to_dict()
    body["text"] = truncate(body["text"], MAX_TEXT)
    body["cards"] = body["cards"][:MAX_CARDS]
    return [body]
