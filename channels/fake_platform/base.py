"""What every imitated platform provides: how to read a call and how to answer each outcome.

The shared pipeline (dispatch.py) decides *which* outcome a call gets — injected fault, bad token,
rate limit, validation error, blocked recipient, success — and the platform module only knows
how that outcome looks on the wire.
"""

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .protocol import HttpRequest

PLATFORMS = ("telegram", "messenger", "whatsapp", "viber", "vk", "twilio", "smsru")
IsBlocked = Callable[[str, str], bool]  # (platform, recipient) -> blocked?


def check_platform(platform: str | None) -> None:
    """Reject a misspelt platform name early instead of silently never matching it."""
    if platform is not None and platform not in PLATFORMS:
        raise ValueError(f"unknown platform {platform!r}; expected one of {', '.join(PLATFORMS)}")


@dataclass(slots=True)
class Call:
    """A platform request as the pipeline sees it."""

    platform: str
    kind: str
    token: str
    recipient: str
    params: dict[str, Any]
    size: int = 0  # bytes of the request body, for platforms that cap it
    node: str = ""  # the Graph node a Messenger / WhatsApp call names in its path


@dataclass(slots=True)
class Answer:
    """What to answer; `recorded` overrides the status kept in the record and stats.

    Every rate-limited call is recorded as 429, though Messenger and WhatsApp answer floods with
    HTTP 400 and Viber and VK with HTTP 200: benchmarks count throttling the same way everywhere.
    """

    status: int
    body: Any
    recorded: int | None = None
    deduplicated: bool = False


class PlatformApi:
    """Base for one platform's answers; subclasses fill the hooks."""

    name = ""
    send_kinds: frozenset[str] = frozenset()  # calls that deliver to `recipient` (block applies)

    def parse(self, request: HttpRequest) -> Call | None:
        """Read kind, token, recipient and parameters; None when the path is not ours."""
        raise NotImplementedError

    def unauthorized(self, call: Call) -> Answer:
        raise NotImplementedError

    def rate_limited(self, call: Call, retry_after: int) -> Answer:
        raise NotImplementedError

    def blocked(self, call: Call) -> Answer:
        raise NotImplementedError

    def validate(self, call: Call) -> Answer | None:
        """An error answer when the platform would refuse these parameters, else None."""
        return None

    def succeed(self, call: Call, is_blocked: IsBlocked) -> Answer:
        """The success answer; multi-recipient calls ask `is_blocked` per recipient."""
        raise NotImplementedError

    def clear(self) -> None:
        """Forget ids, webhooks and other per-run state."""


def bad_token(token: str) -> bool:
    """The fake's convention: a missing token or one starting with "bad" is refused."""
    return not token or token.startswith("bad")


def random_id(prefix: str, nbytes: int = 18) -> str:
    return prefix + secrets.token_urlsafe(nbytes)
