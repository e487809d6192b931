"""Secrets encrypted at rest: model fields that store Fernet tokens and read back plain values.

Bot tokens, page tokens, app secrets and webhook secrets open the shop's messenger accounts to
whoever reads them; a database dump, a replica or a backup must not be enough. The fields are
transparent: code (the providers) reads and writes plain values, the database holds
`cryptography`'s Fernet tokens (AES-128-CBC + HMAC-SHA256, with a timestamp).

Keys: settings.FIELD_ENCRYPTION_KEYS (checked at start-up by config/settings.py), newest
first (MultiFernet: the first encrypts, all decrypt). Rotate by putting a new key first,
running `manage.py rotate_encryption_key` (it re-encrypts every value with the first key),
then dropping the old key.
"""

import json
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

_cache: dict[tuple[str, ...], MultiFernet] = {}


def _fernet() -> MultiFernet:
    # Read settings on each call (tests override them); build each key list once.
    keys = tuple(settings.FIELD_ENCRYPTION_KEYS)
    if keys not in _cache:
        _cache[keys] = MultiFernet([Fernet(key) for key in keys])
    return _cache[keys]


def encrypt(text: str) -> str:
    return _fernet().encrypt(text.encode()).decode()


def decrypt(token: str) -> str:
    # select_related("account") loads the same few rows' tokens over and over (a consent CSV
    # of a million rows names a handful of accounts): each distinct token is decrypted once.
    return _decrypt(tuple(settings.FIELD_ENCRYPTION_KEYS), token)


@lru_cache(maxsize=4096)
def _decrypt(keys: tuple[str, ...], token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        # No listed key opens it: a key dropped too soon, or the wrong environment.
        raise ImproperlyConfigured(
            "an encrypted value cannot be decrypted with FIELD_ENCRYPTION_KEYS (was the key "
            "it was encrypted with removed before rotate_encryption_key ran?)"
        ) from None


def rotated(token: str) -> str:
    """`token` re-encrypted with the newest key (unchanged plaintext)."""
    return _fernet().rotate(token.encode()).decode()


class EncryptedTextField(models.TextField):
    """A text value stored encrypted. No lookups: equal values encrypt differently."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Any:
        return None if value is None else self.from_plain(decrypt(value))

    def get_prep_value(self, value: Any) -> str | None:
        if value is None:
            return None
        return encrypt(self.to_plain(value))

    def from_plain(self, text: str) -> Any:
        return text

    def to_plain(self, value: Any) -> str:
        return str(value)

    def value_to_string(self, obj: models.Model) -> str:
        # dumpdata: the plain value, as a JSONField or CharField would give it.
        return self.to_plain(self.value_from_object(obj))


class EncryptedJSONField(EncryptedTextField):
    """A JSON value (the credentials dict) stored encrypted."""

    def from_plain(self, text: str) -> Any:
        return json.loads(text)

    def to_plain(self, value: Any) -> str:
        return json.dumps(value, sort_keys=True)

    def to_python(self, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value
