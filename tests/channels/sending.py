"""Helpers for the send tests: a send that must fail, and what reached the fake platform."""

from typing import TypeVar

import pytest

from channels.errors import SendError
from channels.fake_platform import FakePlatform
from channels.messages import RichMessage
from channels.providers.base import Provider

E = TypeVar("E", bound=SendError)


def failed_send(
    provider: Provider,
    recipient: str,
    expected: type[E] = SendError,
    *,
    message: RichMessage | None = None,
    match: str | None = None,
) -> E:
    """Send `message` (a plain "hi" unless given), which must fail with `expected`; return it."""
    with pytest.raises(expected, match=match) as caught:
        provider.send(recipient, RichMessage(text="hi") if message is None else message)
    return caught.value


def assert_fails_as(
    provider: Provider, recipient: str, expected: type[SendError], reason: str, code: str
) -> None:
    """A plain send fails with exactly `expected`, keeping the platform's reason and code."""
    error = failed_send(provider, recipient)
    assert type(error) is expected
    assert error.reason == reason
    assert error.code == code


def sent_json(fake_platform: FakePlatform, platform: str) -> list[dict]:
    """The JSON bodies `platform`'s fake received, in order."""
    return [request.json for request in fake_platform.requests_for(platform)]
