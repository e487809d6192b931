"""E-mail as a channel: rendering, sending through Django's e-mail backends (anymail's for ESPs),
one-click unsubscribe (RFC 8058), answer and open links, and ESP tracking via anymail."""

from channels.providers.email.provider import PROVIDER

__all__ = ["PROVIDER"]
