"""VK as a channel: the provider (provider.py), its rendering (render.py), its
routes on the fake platform server (fake.py) and its captured webhook bodies (fixtures/).
"""

from channels.providers.vk.provider import PROVIDER

__all__ = ["PROVIDER"]
