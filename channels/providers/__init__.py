"""The explicit registry of messenger adapters, by kind. Add a channel: see ADDING_A_CHANNEL.md."""

from channels.providers.base import Provider

PROVIDERS: dict[str, type[Provider]] = {}


def register(cls: type[Provider]) -> type[Provider]:
    PROVIDERS[cls.kind] = cls
    return cls


def _load() -> None:
    # Imported here, listed by hand: no discovery by scanning modules.
    from channels.providers import email, messenger, sandbox, sms, telegram, viber, vk, whatsapp

    for module in (telegram, messenger, viber, vk, whatsapp, email, sms, sandbox):
        register(module.PROVIDER)


_load()

KIND_CHOICES = [(kind, cls.label) for kind, cls in PROVIDERS.items()]
# The messengers: kinds a customer subscribes to from a deep link (e-mail and SMS come with
# the shop's opt-in instead).
LINKED_KINDS = tuple(kind for kind, cls in PROVIDERS.items() if cls.deep_links)
