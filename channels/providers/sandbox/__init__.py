"""The sandbox (our own web chat) as a channel: the provider (provider.py) and its rendering
(render.py)."""

from channels.providers.sandbox.provider import PROVIDER

__all__ = ["PROVIDER"]
