"""What the inbound path does to content PostgreSQL cannot store, and to platform timestamps."""

from datetime import UTC, datetime

import pytest

from channels.errors import MalformedPayload
from channels.events import platform_id, unix_time
from channels.sanitize import MAX_DEPTH, storable_json, storable_text


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("plain 🍲", "plain 🍲"),
        ("a\x00b\x00", "ab"),
        ("lone \ud800", "lone \ufffd"),
        ("\udfff\ud83d", "\ufffd\ufffd"),
        ("\ud83d\ude00", "😀"),  # a pair json.loads left as two halves still makes one character
    ],
)
def test_it_makes_text_storable(given, stored):
    assert storable_text(given) == stored
    storable_text(given).encode("utf-8")  # no UnicodeEncodeError


def test_it_cleans_keys_and_values_at_every_level_and_nulls_non_finite_numbers():
    given = {"k\x00": ["\ud800", {"n": float("nan"), "i": float("-inf"), "x": 1.5}], "t": True}

    assert storable_json(given) == {"k": ["\ufffd", {"n": None, "i": None, "x": 1.5}], "t": True}


def test_it_refuses_json_nested_deeper_than_platforms_nest():
    deep: object = 1
    for _ in range(MAX_DEPTH + 1):
        deep = [deep]

    with pytest.raises(MalformedPayload):
        storable_json(deep)


@pytest.mark.parametrize(
    ("value", "per_second", "expected"),
    [
        (1767261600, 1, datetime(2026, 1, 1, 10, 0, tzinfo=UTC)),
        (1767261600500, 1000, datetime(2026, 1, 1, 10, 0, 0, 500000, tzinfo=UTC)),
        (10**14, 1, None),
        (-(10**14), 1, None),
        (10**400, 1, None),
        (10**11, 1, None),  # the year 5138: a real datetime, but no platform's clock
        (True, 1, None),
        ("1767261600", 1, None),
        (1.7e9, 1, None),
        (None, 1, None),
    ],
)
def test_it_reads_unix_timestamps_safely(value, per_second, expected):
    assert unix_time(value, per_second=per_second) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("pttm25kSGUo1919sBORWyA==", "pttm25kSGUo1919sBORWyA=="), (5550001, "5550001"),
     (True, ""), (None, ""), (["1"], ""), ({"id": 1}, ""), (1.0, "")],
)  # fmt: skip
def test_it_reads_ids_only_from_strings_and_whole_numbers(value, expected):
    assert platform_id(value) == expected
