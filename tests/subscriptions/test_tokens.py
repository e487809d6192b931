import hashlib
import logging
import re
import string
from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings
from hypothesis import assume, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from itsdangerous import Signer

from channels.events import EventKind
from channels.models import ChannelAccount
from channels.providers import LINKED_KINDS
from channels.providers.base import WebhookRequest
from subscriptions.models import ConsentEvent, LinkVisit, Order, Subscription
from subscriptions.services import StartOutcome, subscription_start
from subscriptions.tokens import (
    PAYLOAD_CHARS,
    TOKEN_LENGTH,
    VISIT_VERSION,
    TokenInvalid,
    _canonical_b64decode,
    link_token_claims,
    order_token_issue,
    order_token_read,
    token_prefix,
    token_stored,
    visit_token_issue,
)
from tests.factories import CREDENTIALS, ChannelAccountFactory, OrderFactory
from tests.subscriptions.hooks import query, signed, start_webhook

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


@given(
    pk=pks,
    issued=times,
    keep=st.integers(min_value=0, max_value=TOKEN_LENGTH - 1),
    end=st.sampled_from(["tail", "head"]),
)
def test_it_rejects_any_truncation_from_either_end(pk, issued, keep, end):
    # given a valid token cut short, as a messenger or a copy-paste might
    token = token_for(pk, issued)
    cut = token[:keep] if end == "tail" else token[TOKEN_LENGTH - keep :]
    # then it never reads, and says why
    assert reason(cut, now=issued) == "malformed"


whole_seconds = times.map(lambda moment: moment.replace(microsecond=0))  # tokens carry seconds


@given(
    pk=pks,
    issued=whole_seconds,
    max_days=st.integers(min_value=1, max_value=365),
    late=st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=3650)),
    early=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=1)),
)
def test_it_expires_any_token_past_the_maximum_age_and_no_sooner(pk, issued, max_days, late, early):
    token = token_for(pk, issued)
    limit = timedelta(days=max_days)
    assume(early <= limit)
    with override_settings(TOKEN_MAX_AGE_DAYS=max_days):
        # read any time past the maximum age: expired
        assert reason(token, now=issued + limit + late) == "expired"
        # read up to the maximum age: good
        assert order_token_read(token, now=issued + limit - early) == pk


OURS = ["our-secret-2026", "our-secret-2025"]
secret_texts = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=64)


@given(pk=pks, issued=times, foreign=st.lists(secret_texts, min_size=1, max_size=3))
def test_it_rejects_tokens_signed_with_any_secret_not_ours(pk, issued, foreign):
    # given a token signed by somebody else's (possibly rotated) secrets
    assume(not set(foreign) & set(OURS))
    with override_settings(TOKEN_SECRETS=foreign):
        token = token_for(pk, issued)
    # then with our secrets it never verifies
    with override_settings(TOKEN_SECRETS=OURS):
        assert reason(token, now=issued) == "bad_signature"


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


# --- every platform: the issued token through its deep link and its start webhook, intact ---
URL_SAFE = re.compile(r"^[A-Za-z0-9_-]+$")
MESSENGER_REF = re.compile(r"^[A-Za-z0-9+\-./:=_]{1,149}$")  # the stricter plugin rule


def telegram_rules(link: str, token: str) -> None:
    # start: 1-64 characters of A-Za-z0-9_- (core.telegram.org/bots/features#deep-linking)
    assert TELEGRAM_START_PARAM.match(query(link, "start"))


def messenger_rules(link: str, token: str) -> None:
    # ref: up to 2,083 characters (m.me doc); the plugin's data-ref: <150 of [A-Za-z0-9+-./:=_]
    assert len(link) <= 2083 and MESSENGER_REF.match(query(link, "ref"))


def viber_rules(link: str, token: str) -> None:
    # context: "no limit" but the URL's; and it must not need escaping to survive every client
    assert len(link) <= 2000 and URL_SAFE.match(query(link, "context"))


def vk_rules(link: str, token: str) -> None:
    # ref: undocumented, so short and URL-safe (the allow-messages widget's key allows 256)
    assert len(query(link, "ref")) <= 256 and URL_SAFE.match(query(link, "ref"))
    assert query(link, "ref_source")


def whatsapp_rules(link: str, token: str) -> None:
    # no hidden parameter: a prefilled text the customer sends, within a text message's 4,096
    prefill = query(link, "text")
    assert len(prefill) <= 4096 and token in prefill.split()


def sandbox_rules(link: str, token: str) -> None:
    assert URL_SAFE.match(query(link, "start"))


PARAMETER_RULES = {
    "telegram": telegram_rules,
    "messenger": messenger_rules,
    "viber": viber_rules,
    "vk": vk_rules,
    "whatsapp": whatsapp_rules,
    "sandbox": sandbox_rules,
}


def test_it_has_parameter_rules_for_every_platform():
    assert set(PARAMETER_RULES) == set(LINKED_KINDS)


@pytest.mark.parametrize("kind", sorted(LINKED_KINDS))
@hypothesis_settings(max_examples=40)
@given(pk=pks, issued=times)
def test_it_carries_every_issued_token_intact_through_each_platform(kind, pk, issued):
    # given a token for any order at any time, and the platform's account
    account = ChannelAccount(kind=kind, name=f"shop-{kind}", credentials=dict(CREDENTIALS[kind]))
    provider = account.provider()
    token = token_for(pk, issued)

    # when the deep link is built, the customer opens it and the platform posts its start
    link = provider.deep_link(token)
    body, headers = signed(account, start_webhook(kind, link))
    request = WebhookRequest("POST", body, {name.lower(): value for name, value in headers.items()})

    # then the link keeps the platform's parameter rules
    PARAMETER_RULES[kind](link, token)
    # and the provider's own parser hands back the very token, which still names the order
    assert provider.verify(request)
    [event] = provider.parse(request)
    assert (event.kind, event.token) == (EventKind.START, token)
    assert order_token_read(event.token, now=issued) == pk


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


@pytest.mark.django_db
def test_a_visit_token_is_no_order_token_and_keeps_its_links_age():
    issued = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    visit = LinkVisit.objects.create(source="qr_scan", link_issued_at=issued)
    token = visit_token_issue(visit)

    assert len(token) == 61
    claims = link_token_claims(token, now=issued)
    assert (claims.version, claims.pk, claims.issued_at) == (VISIT_VERSION, visit.pk, issued)
    with pytest.raises(TokenInvalid, match="malformed"):
        order_token_read(token, now=issued)
    assert token_stored(f"/start {token}") == f"/start {token[:18]}"
