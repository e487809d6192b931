"""Identifiers a person can give us, and the keyed hash an erasure keeps of each.

An identifier is written `kind:value`: `email:ivan@example.com`, `phone:+7 999 000-11-22`,
`customer:C-77` (the shop's customer id) or `chat:telegram:123456789` (a platform's user id on
a channel kind). The hash is HMAC-SHA256 with settings.PRIVACY_HASH_KEY over the normalized
identifier: the same identifier always gives the same digest, and without the key nobody can
test guesses against the stored digests (a plain hash of a phone number is reversed by trying
every number).
"""

import hashlib
import hmac
import re

from django.conf import settings

KINDS = ("email", "phone", "customer", "chat")


class BadIdentifier(ValueError):
    """Not `kind:value` with a known kind and a value."""


def identifier_normalized(identifier: str) -> str:
    """`identifier` in the one spelling its hash is taken of; BadIdentifier if it is none."""
    kind, _, value = identifier.strip().partition(":")
    kind, value = kind.lower(), value.strip()
    if kind not in KINDS or not value:
        raise BadIdentifier(f"expected one of {', '.join(k + ':…' for k in KINDS)}")
    if kind == "email":
        value = value.lower()
    elif kind == "phone":
        value = re.sub(r"\D", "", value)  # +7 (999) 000-11-22 and 79990001122 are one phone
        if not value:
            raise BadIdentifier("a phone needs digits")
    elif kind == "chat":
        channel, _, user = value.partition(":")
        if not channel or not user:
            raise BadIdentifier("a chat is chat:<channel kind>:<platform user id>")
        value = f"{channel.lower()}:{user}"
    return f"{kind}:{value}"


def identifier_digest(identifier: str) -> str:
    """The keyed hash (hex) of a normalized or raw identifier."""
    key = settings.PRIVACY_HASH_KEY.encode()
    return hmac.new(key, identifier_normalized(identifier).encode(), hashlib.sha256).hexdigest()
