"""Validators that keep any JSON a client can send away from a 500.

PostgreSQL refuses NUL characters in text and jsonb, UTF-8 cannot encode lone surrogates
("\\ud800" is valid JSON), and "1e400" parses to an infinite float that jsonb cannot hold: each
would surface as a database error. DRF's CharField already refuses the first two; free-form JSON
(`data` of an event) is checked here, and all are answered as 400s naming the field.
"""

import math
import re
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from subscriptions.models import validate_time_zone

MAX_JSON_DEPTH = 20


def _check_text(value: str) -> None:
    if "\x00" in value:
        raise serializers.ValidationError("Null characters are not allowed.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise serializers.ValidationError("Not valid Unicode (lone surrogate).") from None


def storable_json(value: Any, depth: int = 0) -> None:
    """Raise ValidationError if `value` cannot be kept in a jsonb column."""
    if depth > MAX_JSON_DEPTH:
        raise serializers.ValidationError(f"Nested deeper than {MAX_JSON_DEPTH} levels.")
    if isinstance(value, str):
        _check_text(value)
    elif isinstance(value, float) and not math.isfinite(value):
        raise serializers.ValidationError("Numbers must be finite.")
    elif isinstance(value, list):
        for item in value:
            storable_json(item, depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            storable_json(item, depth + 1)


def json_object(value: Any) -> None:
    if not isinstance(value, dict):
        raise serializers.ValidationError("Expected a JSON object.")
    storable_json(value)


def time_zone(value: str) -> None:
    """An IANA zone name ("Europe/Moscow"): not a file that happens to sit beside them."""
    try:
        validate_time_zone(value)
    except DjangoValidationError:
        raise serializers.ValidationError(f"{value!r} is not an IANA time zone.") from None


# A date and time with its offset (Instant.SHAPE); the schema says the same.
INSTANT = r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}([.,]\d{1,6})?)?([Zz]|[+-]\d{2}(:?\d{2})?)"


@extend_schema_field(
    {"type": "string", "format": "date-time", "pattern": f"^{INSTANT}$",
     "description": "ISO 8601 with its UTC offset; the moment of something that happened may be "
     "at most a day ahead of our clock.", "example": "2026-11-20T10:00:00+03:00"}
)  # fmt: skip
class Instant(serializers.DateTimeField):
    """An ISO 8601 date and time with its UTC offset: "2026-11-20T10:00:00+03:00" or "...Z".

    DRF alone reads "2026-11-20" (or "20261120") as midnight and "2026-11-20T10:00" in the
    server's zone: a shop's timestamp silently off by hours. Both are a 400 naming the field.
    """

    default_error_messages = {
        "ambiguous": "Expected a date and time with its UTC offset, e.g. "
        "2026-11-20T10:00:00+03:00 or 2026-11-20T07:00:00Z; a bare date or a time without "
        "an offset is ambiguous.",
        "future": "This has not happened yet: it is more than a day ahead of our clock.",
    }
    # Clocks disagree a little; a day ahead is not a clock, it is a wrong date (and a year-9999
    # event would overflow every delay added to it).
    FUTURE_SLACK = timedelta(days=1)

    def __init__(self, *, happened: bool = False, **kwargs: Any) -> None:
        """`happened`: the moment of something that took place, so not in the future."""
        self.happened = happened
        super().__init__(**kwargs)

    SHAPE = re.compile(INSTANT)

    def to_internal_value(self, value: Any) -> datetime:
        if isinstance(value, str) and not self.SHAPE.fullmatch(value.strip()):
            self.fail("ambiguous")
        moment = super().to_internal_value(value)
        if self.happened and moment > timezone.now() + self.FUTURE_SLACK:
            self.fail("future")
        return moment


# A language code, optionally with a region: "ru", "en-GB", "pt_BR". Pages and messages speak
# en/ru/uk and fall back to English for anything else, so an unsupported but well-formed
# language is kept (the shop may know better than we do) rather than refused.
LOCALE = re.compile(r"[a-z]{2}([-_][a-z]{2,4})?", re.IGNORECASE)


def locale(value: str) -> None:
    if not LOCALE.fullmatch(value):
        raise serializers.ValidationError("Expected a language code such as 'en' or 'pt-BR'.")


CURRENCY = re.compile(r"[A-Z]{3}", re.IGNORECASE)


def currency(value: str) -> None:
    if not CURRENCY.fullmatch(value):
        raise serializers.ValidationError("Expected an ISO 4217 code of three letters.")


# --- what the schema says each field accepts (tests/api/test_schema_contract.py) ------------
@extend_schema_field(
    {"type": "string", "pattern": r"^[A-Za-z]{2}([-_][A-Za-z]{2,4})?$", "example": "pt-BR"}
)
class LocaleField(serializers.CharField):
    """A language code, optionally with a region."""


@extend_schema_field({"type": "string", "pattern": r"^[A-Za-z]{3}$", "example": "RUB"})
class CurrencyField(serializers.CharField):
    """An ISO 4217 code (any case; stored upper case)."""


class TimeZoneField(serializers.CharField):
    """An IANA zone name; the schema lists them all (schema_time_zones)."""


@extend_schema_field(
    {"type": "string", "format": "decimal", "pattern": r"^[0-9]{1,10}(\.[0-9]{1,2})?$",
     "example": "4990.00"}
)  # fmt: skip
class MoneyField(serializers.DecimalField):
    """An amount of money: 0 or more, at most 10 digits before the point and 2 after."""


def schema_time_zones() -> dict[str, Any]:
    from subscriptions.models import time_zone_names

    return {"type": "string", "enum": sorted(time_zone_names()), "example": "Europe/Moscow"}


extend_schema_field(schema_time_zones())(TimeZoneField)


@extend_schema_field({"type": "object", "additionalProperties": True, "example": {"slot": "10-12"}})
class JsonObjectField(serializers.JSONField):
    """Any JSON object (not null, not a list); no NUL characters or non-finite numbers."""
