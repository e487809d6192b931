"""A verified webhook body, however odd, is answered 200 or 400 (and 400 stores nothing).

The property tests: each example takes one of the platform's captured fixtures, replaces a few
of its values (or whole subtrees) with values of the wrong type, huge numbers, NUL characters
and lone surrogates, signs the result as the platform would and posts it through the real
view, with the apps' real handlers behind it.
"""

import copy
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels.models import InboundEvent
from tests.channels.webhooks import (
    assert_stored_nothing,
    deliver_signed,
    fixture,
    fixture_names,
)
from tests.factories import ChannelAccountFactory

PLATFORMS = ["telegram", "messenger", "viber", "vk", "whatsapp"]
FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

odd_strings = st.one_of(
    st.sampled_from(
        ["", " ", "\x00", "a\x00b", "\ud800", "x\udfff", "\ud83d", "🍲", "/start \x00", "9" * 300]
    ),
    st.text(max_size=20),
)
odd_numbers = st.one_of(
    st.sampled_from([0, 1, -1, 10**14, -(10**14), 2**63, 2**64, 10**30, 1.5, -0.0]),
    st.integers(),
    st.floats(),  # NaN and Infinity too: json.dumps writes them and json.loads reads them
)
odd_values = st.recursive(
    st.one_of(st.none(), st.booleans(), odd_numbers, odd_strings),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(odd_strings, children, max_size=3)
    ),
    max_leaves=6,
)


def paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every place in a JSON document, the root excluded: keys of objects, indexes of lists."""
    found = []
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, child in items:
        found.append((*prefix, key))
        found.extend(paths(child, (*prefix, key)))
    return found


def replaced(document: dict, path: tuple, value: Any) -> dict:
    result = copy.deepcopy(document)
    node = result
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return result


@st.composite
def mutated_fixtures(draw: st.DrawFn, platform: str) -> dict:
    document = fixture(platform, draw(st.sampled_from(fixture_names(platform))))
    for _ in range(draw(st.integers(1, 3))):
        places = paths(document)
        if not places:
            break
        document = replaced(document, draw(st.sampled_from(places)), draw(odd_values))
    return document


@pytest.fixture
def accounts(db) -> dict:
    return {platform: ChannelAccountFactory(kind=platform) for platform in PLATFORMS}


def assert_answered_cleanly(client, account, payload: Any) -> None:
    # A savepoint per example: what one example stored does not dedupe the next one's events.
    with transaction.atomic():
        before = InboundEvent.objects.count()

        response = deliver_signed(client, account, payload)

        assert response.status_code in (200, 400), response.content[:300]
        if response.status_code == 400:
            assert InboundEvent.objects.count() == before
        transaction.set_rollback(True)


@pytest.mark.parametrize("platform", PLATFORMS)
@FUZZ
@given(data=st.data())
def test_it_never_answers_a_mutated_fixture_with_a_server_error(client, accounts, platform, data):
    payload = data.draw(mutated_fixtures(platform), label="payload")

    assert_answered_cleanly(client, accounts[platform], payload)


@pytest.mark.parametrize("platform", PLATFORMS)
@FUZZ
@given(payload=st.dictionaries(odd_strings, odd_values, max_size=5))
def test_it_never_answers_a_random_object_with_a_server_error(client, accounts, platform, payload):
    assert_answered_cleanly(client, accounts[platform], payload)


@pytest.mark.parametrize("platform", ["telegram", "messenger", "viber", "whatsapp"])
@pytest.mark.parametrize(
    "body",
    [b"", b"null", b"[]", b'"text"', b"1" * 5000, b"[" * 100_000, b"\xff\xfe", b'{"a": NaN}'],
)
def test_it_answers_400_to_a_signed_body_that_is_no_json_object(client, accounts, platform, body):
    response = deliver_signed(client, accounts[platform], body)

    assert_stored_nothing(response, 400)


# --- the odd bodies found so far, one each ------------------------------------------------------
def telegram_text(text: str, **message: Any) -> dict:
    update = fixture("telegram", "message_text")
    update["message"].update(text=text, **message)
    return update


@pytest.mark.parametrize(
    ("text", "stored"),
    [("borscht\x00 please", "borscht please"), ("lone \ud800 half", "lone \ufffd half")],
)
def test_it_stores_text_without_what_postgresql_cannot_hold(client, accounts, text, stored):
    response = deliver_signed(client, accounts["telegram"], telegram_text(text))

    assert response.status_code == 200
    row = InboundEvent.objects.get()
    assert row.text == stored
    assert row.raw["message"]["text"] == stored


def test_it_stores_a_body_with_nan_and_infinity_as_nulls(client, accounts):
    body = fixture("messenger", "text")
    body["entry"][0]["time"] = float("nan")
    body["entry"][0]["messaging"][0]["timestamp"] = float("inf")

    response = deliver_signed(client, accounts["messenger"], body)

    assert response.status_code == 200
    row = InboundEvent.objects.get()
    assert row.raw["timestamp"] is None
    assert abs(row.occurred_at - timezone.now()) < timedelta(minutes=5)


@pytest.mark.parametrize(
    ("platform", "name", "path"),
    [
        ("telegram", "message_text", ("message", "date")),
        ("viber", "message_text", ("timestamp",)),
        ("vk", "message_new_text", ("object", "message", "date")),
        ("whatsapp", "text", ("entry", 0, "changes", 0, "value", "messages", 0, "timestamp")),
        ("messenger", "text", ("entry", 0, "messaging", 0, "timestamp")),
    ],
)
# 10**11 s is the year 5138: in datetime's range, but far ahead of any platform's clock.
@pytest.mark.parametrize("stamp", [10**14, 10**17, -(10**17), 10**400])
def test_it_takes_the_time_of_receipt_for_a_timestamp_out_of_range(
    client, accounts, platform, name, path, stamp
):
    body = replaced(fixture(platform, name), path, stamp)

    response = deliver_signed(client, accounts[platform], body)

    assert response.status_code == 200
    row = InboundEvent.objects.get()
    assert abs(row.occurred_at - timezone.now()) < timedelta(minutes=5)


@pytest.mark.parametrize("member", ["kicked", ["kicked"], None, 5])
def test_it_answers_400_to_a_chat_member_change_that_is_not_an_object(client, accounts, member):
    body = replaced(
        fixture("telegram", "my_chat_member_kicked"), ("my_chat_member", "new_chat_member"), member
    )

    response = deliver_signed(client, accounts["telegram"], body)

    assert_stored_nothing(response, 400)


@pytest.mark.parametrize("status", [["kicked"], {"kicked": 1}])
def test_it_keeps_a_chat_member_status_it_cannot_read_unknown(client, accounts, status):
    path = ("my_chat_member", "new_chat_member", "status")
    body = replaced(fixture("telegram", "my_chat_member_kicked"), path, status)

    response = deliver_signed(client, accounts["telegram"], body)

    assert response.status_code == 200
    assert InboundEvent.objects.get().kind == "unknown"


@pytest.mark.parametrize("contacts", [5, "Sheena", [5, None], {"wa_id": "1"}])
def test_it_reads_a_whatsapp_message_whatever_its_contacts_hold(client, accounts, contacts):
    path = ("entry", 0, "changes", 0, "value", "contacts")
    body = replaced(fixture("whatsapp", "text"), path, contacts)

    response = deliver_signed(client, accounts["whatsapp"], body)

    assert response.status_code == 200
    row = InboundEvent.objects.get()
    assert (row.kind, row.platform_user_id) == ("text", "16505551234")


@pytest.mark.parametrize("sender", [["16505551234"], {"id": "16505551234"}, None, True])
def test_it_answers_400_to_a_whatsapp_message_without_a_readable_sender(client, accounts, sender):
    value = ("entry", 0, "changes", 0, "value")
    body = replaced(fixture("whatsapp", "text"), (*value, "messages", 0, "from"), sender)
    body = replaced(body, (*value, "contacts", 0, "wa_id"), sender)

    response = deliver_signed(client, accounts["whatsapp"], body)

    assert_stored_nothing(response, 400)


def test_it_answers_400_to_a_user_id_too_long_to_be_one(client, accounts):
    body = replaced(fixture("viber", "message_text"), ("sender", "id"), "x" * 256)

    response = deliver_signed(client, accounts["viber"], body)

    assert_stored_nothing(response, 400)


def test_it_answers_400_to_a_body_nested_far_deeper_than_any_platform_nests(client, accounts):
    deep: Any = "bottom"
    for _ in range(500):
        deep = [deep]
    body = replaced(fixture("vk", "message_new_text"), ("object", "client_info"), deep)

    response = deliver_signed(client, accounts["vk"], body)

    assert_stored_nothing(response, 400)
