"""The few kinds of send failure the dispatcher acts on; providers classify into these."""


class SendError(Exception):
    """Base: `reason` is short and human-readable, `code` the platform's own error code."""

    def __init__(self, reason: str, *, code: str | int = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = str(code)


class RetryAfter(SendError):
    """The account is rate limited: pause all its sends for `seconds`."""

    def __init__(self, reason: str, *, seconds: float, code: str | int = "") -> None:
        super().__init__(reason, code=code)
        self.seconds = seconds


class Transient(SendError):
    """Try this delivery again later. `maybe_sent`: the platform may have accepted it anyway."""

    def __init__(self, reason: str, *, maybe_sent: bool = False, code: str | int = "") -> None:
        super().__init__(reason, code=code)
        self.maybe_sent = maybe_sent


class RecipientGone(SendError):
    """The customer blocked the bot, unsubscribed or is unreachable for good."""


class RejectedByPolicy(SendError):
    """The platform refuses this content now (window closed, intent or template needed)."""


class ConfigurationError(SendError):
    """Our side is misconfigured (bad token, missing credential): no send on it will work."""


class MalformedPayload(ValueError):
    """A verified webhook body we cannot parse: answered 400."""
