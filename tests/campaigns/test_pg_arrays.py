"""Array literals for the dispatcher's statements (campaigns/pg_arrays.py) read back as the
values they were made of, whatever characters a reason or a message id holds."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from campaigns import pg_arrays

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def read_back(sql_type: str, literal: str) -> list:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT %s::{sql_type}", [literal])
        return cursor.fetchone()[0]


def test_texts_come_back_as_written_none_as_null():
    values = [
        "", "NULL", "plain", 'say "hi"', "back\\slash", "\\\"", "{braces}", "a,b", " pad ",
        "error: Transient('HTTP 502', maybe_sent=True)", "Привет 👋", "tab\there\nline", None,
    ]  # fmt: skip

    assert read_back("varchar[]", pg_arrays.texts(values)) == values


def test_ints_and_empty_arrays_come_back():
    values = [0, -1, 2**40, 7]

    assert read_back("bigint[]", pg_arrays.ints(values)) == values
    assert read_back("bigint[]", pg_arrays.ints([])) == []
    assert read_back("varchar[]", pg_arrays.texts([])) == []


def test_times_keep_their_instant_whatever_the_offset():
    moscow = dt.datetime(2026, 12, 6, 9, 30, 15, 123456, tzinfo=ZoneInfo("Europe/Moscow"))
    utc = dt.datetime(2027, 1, 1, 0, 0, tzinfo=dt.UTC)

    assert read_back("timestamptz[]", pg_arrays.times([moscow, None, utc])) == [
        moscow, None, utc,
    ]  # fmt: skip
