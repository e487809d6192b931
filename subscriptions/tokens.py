"""Deep-link tokens: a signed, dated reference to an order, small enough for every messenger.

Format (version 1), always 61 characters of ``A-Za-z0-9_-``::

    token = base64url(payload)[18 chars] + base64url(signature)[43 chars]   (no padding, no dot)
    payload = version (1 byte, = 1)
            + order pk (8 bytes, unsigned big-endian: any BigAutoField pk up to 2**63 - 1)
            + issued at (4 bytes, unsigned big-endian unix seconds, good until 2106)
    signature = itsdangerous Signer(HMAC-SHA256, salt "comeback.subscribe").get_signature(payload)

Why not ``Signer.sign()``: its ``value.signature`` form has a dot, and Telegram's start parameter
allows only 1-64 characters of ``A-Za-z0-9_-`` (core.telegram.org/bots/features#deep-linking).
A fixed-length payload means no separator is needed: the first 18 characters are the payload,
the rest the signature. Both parts must be canonical base64url (re-encoding gives the same text),
otherwise the spare low bits of the last character would let a changed token still verify.

Version 2 is the same layout naming a LinkVisit instead of an order (a visit token): the hosted
page and the /s/ redirect hand it to the messenger, so a Start says which visit - and so which
source, device and UTM tags - it came from. Its "issued at" is the underlying link's, so a visit
never makes a link live longer. Old version-1 order tokens keep working unchanged.

Keys: ``settings.TOKEN_SECRETS`` lists secrets newest first; the newest signs, all verify
(itsdangerous wants them oldest first, hence the reversal). Age: ``settings.TOKEN_MAX_AGE_DAYS``.
The payload is not secret (an order pk and a time) but the whole token is a bearer credential for
that order's subscribe link: log and store ``token_prefix(token)`` only, never the full token.
"""

import hashlib
import re
import struct
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.utils import timezone
from itsdangerous import BadData, Signer
from itsdangerous.encoding import base64_decode, base64_encode

from subscriptions.models import LinkVisit, Order

VERSION = 1
VISIT_VERSION = 2
VERSIONS = frozenset({VERSION, VISIT_VERSION})
SALT = "comeback.subscribe"
_PAYLOAD = struct.Struct(">BQI")  # version, order pk, issued at
PAYLOAD_CHARS = 18  # base64url of 13 bytes, unpadded
SIGNATURE_CHARS = 43  # base64url of a 32-byte HMAC-SHA256, unpadded
TOKEN_LENGTH = PAYLOAD_CHARS + SIGNATURE_CHARS
_ALPHABET = re.compile(r"[A-Za-z0-9_-]+")
MAX_ORDER_PK = 2**63 - 1


class TokenInvalid(ValueError):
    """The token cannot link anything; `reason` is malformed, bad_signature or expired."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def order_token_issue(order: Order, *, now: datetime | None = None) -> str:
    """A fresh subscribe token for `order`, signed with the newest secret."""
    return _issue(VERSION, order.pk, now or timezone.now())


def visit_token_issue(visit: LinkVisit) -> str:
    """The token a visit hands to the messenger: names the visit, dated as its link."""
    return _issue(VISIT_VERSION, visit.pk, visit.link_issued_at)


def _issue(version: int, pk: int, issued_at: datetime) -> str:
    if not 1 <= pk <= MAX_ORDER_PK:
        raise ValueError(f"pk {pk!r} out of range")
    payload = _PAYLOAD.pack(version, pk, int(issued_at.timestamp()))
    return _b64(payload) + _signer().get_signature(payload).decode()


class TokenClaims(NamedTuple):
    order_pk: int
    issued_at: datetime  # whole seconds, UTC


class LinkClaims(NamedTuple):
    version: int  # VERSION: pk is an order's; VISIT_VERSION: a LinkVisit's
    pk: int
    issued_at: datetime  # whole seconds, UTC


def order_token_read(token: str, *, now: datetime | None = None) -> int:
    """The order pk a valid token names; raise TokenInvalid otherwise (no database lookup)."""
    return order_token_claims(token, now=now).order_pk


def order_token_claims(token: str, *, now: datetime | None = None) -> TokenClaims:
    """What a valid order token says (order and issue time); raise TokenInvalid otherwise."""
    claims = link_token_claims(token, now=now)
    if claims.version != VERSION:
        raise TokenInvalid("malformed")
    return TokenClaims(claims.pk, claims.issued_at)


def link_token_claims(token: str, *, now: datetime | None = None) -> LinkClaims:
    """What a valid order or visit token says; raise TokenInvalid otherwise."""
    if len(token) != TOKEN_LENGTH or not _ALPHABET.fullmatch(token):
        raise TokenInvalid("malformed")
    payload_text, signature = token[:PAYLOAD_CHARS], token[PAYLOAD_CHARS:]
    payload = _canonical_b64decode(payload_text)
    if payload is None or _canonical_b64decode(signature) is None:
        raise TokenInvalid("malformed")
    if not _signer().verify_signature(payload, signature.encode()):
        raise TokenInvalid("bad_signature")
    version, pk, issued = _PAYLOAD.unpack(payload)
    if version not in VERSIONS or pk == 0:
        raise TokenInvalid("malformed")
    issued_at = datetime.fromtimestamp(issued, tz=UTC)
    if (now or timezone.now()) - issued_at > timedelta(days=settings.TOKEN_MAX_AGE_DAYS):
        raise TokenInvalid("expired")
    return LinkClaims(version, pk, issued_at)


def token_prefix(token: str) -> str:
    """What may be logged or kept as consent evidence: the payload part, never the signature."""
    return token[:PAYLOAD_CHARS]


def token_stored(text: str) -> str:
    """`text` with every substring shaped like our token cut to its prefix, whatever surrounds
    it (`/start <token>x`, `Subscribe: <token>.`, a ref with more after it).

    "Shaped like": 61 characters of the token alphabet whose first 18 are a canonical
    version-1 or 2 payload. That is true of every token we ever issued, valid, expired or with a
    forged signature (kept as evidence the same way), and rarely of anything else, so an
    ad's ref or a platform's file id stays as it is. The signature is what makes a token a
    bearer credential; the payload (an order pk and a time) is not secret.
    """
    if len(text) < TOKEN_LENGTH:
        return text
    return _RUN.sub(_run_stored, text)


_RUN = re.compile(rf"[A-Za-z0-9_-]{{{TOKEN_LENGTH},}}")


def _run_stored(match: re.Match[str]) -> str:
    """One run of token characters with every token inside it cut to its prefix."""
    run, kept, start = match.group(), [], 0
    index = 0
    while index + TOKEN_LENGTH <= len(run):
        # Every payload starts with base64url of the byte 0x01 or 0x02: "A" then Q-T or g-v.
        if run[index] == "A" and _is_payload(run[index : index + PAYLOAD_CHARS]):
            kept.append(run[start : index + PAYLOAD_CHARS])
            index = start = index + TOKEN_LENGTH
        else:
            index += 1
    kept.append(run[start:])
    return "".join(kept)


def _is_payload(text: str) -> bool:
    payload = _canonical_b64decode(text)
    return payload is not None and len(payload) == _PAYLOAD.size and payload[0] in VERSIONS


def _signer() -> Signer:
    # Read settings on each call so rotation (and tests overriding settings) take effect.
    secrets = list(reversed(settings.TOKEN_SECRETS))
    return Signer(secrets, salt=SALT, key_derivation="hmac", digest_method=hashlib.sha256)


def _b64(data: bytes) -> str:
    return base64_encode(data).decode()


def _canonical_b64decode(text: str) -> bytes | None:
    try:
        data = base64_decode(text)
    except BadData:
        return None
    return data if _b64(data) == text else None
