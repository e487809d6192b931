import hashlib
import logging
import re
import string
from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings
from hypothesis import assume, given
from hypothesis import strategies as st
from itsdangerous import Signer

from subscriptions.models import ConsentEvent, Order, Subscription
from subscriptions.services import StartOutcome, subscription_start
from subscriptions.tokens import (
    PAYLOAD_CHARS,
    TOKEN_LENGTH,
    TokenInvalid,
    _canonical_b64decode,
    order_token_issue,
    order_token_read,
    token_prefix,
)
from tests.factories import ChannelAccountFactory, OrderFactory

TELEGRAM_START_PARAM = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
ALPHABET = string.ascii_letters + string.digits + "_-"
pks = st.integers(min_value=1, max_value=2**63 - 1)
# 4-byte unsigned issue time: any moment until 2106.
times = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2105, 12, 31), timezones=st.just(UTC)
)
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def token_for(pk: int = 42, now: datetime = NOW) -> str:
    return order_token_issue(Order(pk=pk), now=now)


def reason(token: str, now: datetime = NOW) -> str:
    with pytest.raises(TokenInvalid) as caught:
        order_token_read(token, now=now)
    return caught.value.reason


@given(pk=pks, issued=times)
def test_it_reads_back_the_order_pk_it_signed(pk, issued):
    # given a token issued for any possible order pk at any time
    token = token_for(pk, issued)
    # when it is read at the moment of issue, then it names that order
    assert order_token_read(token, now=issued) == pk


@given(pk=pks, issued=times)
def test_it_issues_tokens_that_fit_telegrams_start_parameter(pk, issued):
    token = token_for(pk, issued)
    assert TELEGRAM_START_PARAM.match(token)
    assert len(token) == TOKEN_LENGTH <= 64


@given(
    pk=pks,
    position=st.integers(min_value=0, max_value=TOKEN_LENGTH - 1),
    edit=st.sampled_from(["flip", "replace", "insert", "delete"]),
    char=st.sampled_from(ALPHABET + ".=+/ "),
)
def test_it_rejects_any_single_character_change(pk, position, edit, char):
    # given a valid token
    token = token_for(pk)
    # when one character is flipped, replaced, inserted or deleted
    if edit == "flip":
        char = token[position].swapcase() if token[position].isalpha() else "A"
    if edit in ("flip", "replace"):
        tampered = token[:position] + char + token[position + 1 :]
    elif edit == "insert":
        tampered = token[:position] + char + token[position:]
    else:
        tampered = token[:position] + token[position + 1 :]
    assume(tampered != token)
    # then it no longer reads
    with pytest.raises(TokenInvalid) as caught:
        order_token_read(tampered, now=NOW)
    assert caught.value.reason in {"malformed", "bad_signature"}


def test_it_rejects_every_single_character_replacement():
    # Exhaustive, because the last character of each base64 part carries spare bits: a decoder
    # that ignored them would accept a few of these changes, which random sampling rarely hits.
    token = token_for()
    for position in range(TOKEN_LENGTH):
        for char in ALPHABET:
            if char != token[position]:
                tampered = token[:position] + char + token[position + 1 :]
                assert reason(tampered) in {"malformed", "bad_signature"}, (position, char)


def test_it_rejects_every_truncation():
    token = token_for()
    for length in range(TOKEN_LENGTH):
        assert reason(token[:length]) == "malformed"


def test_it_tells_a_changed_signature_from_a_malformed_token():
    token = token_for()
    other = token_for(pk=43)
    # a well-formed token whose signature belongs to another payload
    assert reason(token[:PAYLOAD_CHARS] + other[PAYLOAD_CHARS:]) == "bad_signature"
    assert reason("not a token") == "malformed"
    assert reason("a" * TOKEN_LENGTH) in {"malformed", "bad_signature"}


def test_it_expires_after_the_maximum_age(settings):
    settings.TOKEN_MAX_AGE_DAYS = 30
    token = token_for(now=NOW)
    # still good at exactly 30 days
    assert order_token_read(token, now=NOW + timedelta(days=30)) == 42
    # then expired a second later
    assert reason(token, now=NOW + timedelta(days=30, seconds=1)) == "expired"


def test_it_follows_a_shorter_maximum_age_setting(settings):
    token = token_for(now=NOW)
    settings.TOKEN_MAX_AGE_DAYS = 1
    assert reason(token, now=NOW + timedelta(days=2)) == "expired"


def test_it_rejects_a_token_signed_with_a_foreign_secret(settings):
    settings.TOKEN_SECRETS = ["our-secret"]
    with override_settings(TOKEN_SECRETS=["somebody-elses-secret"]):
        foreign = token_for()
    assert reason(foreign) == "bad_signature"


def test_it_rejects_a_signature_made_for_another_purpose(settings):
    # given the right secret but another salt (another kind of signed value of ours)
    settings.TOKEN_SECRETS = ["our-secret"]
    token = token_for()
    payload = token[:PAYLOAD_CHARS]
    signer = Signer(
        "our-secret", salt="comeback.other", key_derivation="hmac", digest_method=hashlib.sha256
    )
    forged = payload + signer.get_signature(_canonical_b64decode(payload)).decode()
    # then it does not verify as a subscribe token
    assert reason(forged) == "bad_signature"


def test_it_verifies_with_every_listed_secret_and_signs_with_the_newest(settings):
    # given a link issued before a rotation
    settings.TOKEN_SECRETS = ["old-secret"]
    old_link = token_for()
    # when a new secret is put first, the old one second
    settings.TOKEN_SECRETS = ["new-secret", "old-secret"]
    new_link = token_for()
    # then both links read
    assert order_token_read(old_link, now=NOW) == 42
    assert order_token_read(new_link, now=NOW) == 42
    # and the new link is signed with the new secret alone
    settings.TOKEN_SECRETS = ["new-secret"]
    assert order_token_read(new_link, now=NOW) == 42
    # while the old link dies with its removed secret
    assert reason(old_link) == "bad_signature"


def test_it_keeps_the_signature_out_of_the_loggable_prefix():
    token = token_for()
    assert token_prefix(token) == token[:PAYLOAD_CHARS]
    assert token[PAYLOAD_CHARS:] not in token_prefix(token)


@pytest.fixture
def account(db):
    return ChannelAccountFactory(kind="telegram")


def _tampered() -> str:
    token = order_token_issue(OrderFactory())
    return token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB")


def _expired() -> str:
    return order_token_issue(OrderFactory(), now=datetime.now(tz=UTC) - timedelta(days=31))


def _foreign() -> str:
    with override_settings(TOKEN_SECRETS=["somebody-elses-secret"]):
        return order_token_issue(OrderFactory())


def _unknown_order() -> str:
    order = OrderFactory(items=0)
    token = order_token_issue(order)
    order.delete()
    return token


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (_tampered, "bad_signature"),
        (lambda: order_token_issue(OrderFactory())[:40], "malformed"),
        (_expired, "expired"),
        (_foreign, "bad_signature"),
        (_unknown_order, "unknown_order"),
    ],
    ids=["tampered", "truncated", "expired", "foreign-secret", "unknown-order"],
)
def test_it_links_nothing_for_a_bad_token(account, make, why, caplog):
    # given a token that must not work
    token = make()
    # when a messenger user presses Start with it
    with caplog.at_level(logging.INFO):
        result = subscription_start(
            account=account, platform_user_id="1001", token=token, occurred_at=NOW
        )
    # then nothing is linked or consented, and the log says why without the whole token
    assert result.outcome == StartOutcome.INVALID
    assert result.reason == why
    assert not Subscription.objects.exists()
    assert not ConsentEvent.objects.exists()
    assert why in caplog.text
    assert token not in caplog.text
