"""Small input and output serializers, one pair per operation."""

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from subscriptions.api import fields
from subscriptions.models import TOPICS, Order, OrderEvent
from subscriptions.services import normalized_phone

MONEY = {"max_digits": 12, "decimal_places": 2, "min_value": Decimal("0")}
MAX_QUANTITY = 100_000  # far above any basket, far below the integer column's limit


class ErrorOut(serializers.Serializer):
    detail = serializers.CharField()


class CustomerIn(serializers.Serializer):
    external_id = serializers.CharField(max_length=100)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True)
    locale = fields.LocaleField(max_length=10, required=False, validators=[fields.locale])
    time_zone = fields.TimeZoneField(max_length=64, required=False, validators=[fields.time_zone])

    def validate_locale(self, value: str) -> str:
        return value.replace("_", "-").lower()


class ItemIn(serializers.Serializer):
    sku = serializers.CharField(max_length=100)
    name = serializers.CharField(max_length=200)
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY, default=1)
    price = fields.MoneyField(**MONEY)


class ContactConsentIn(serializers.Serializer):
    """The customer's marketing opt-in for one channel, as the checkout showed it."""

    granted = serializers.BooleanField(help_text="Ticked (true) or explicitly not (false).")
    wording = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text="The text next to the checkbox; required when granted (the consent log keeps "
        "it as the evidence).",
    )
    shown_at = fields.Instant(
        happened=True, required=False, help_text="When the customer ticked it; default: now."
    )
    topics = serializers.ListField(
        child=serializers.ChoiceField(choices=list(TOPICS)),
        required=False,
        allow_empty=False,
        help_text="What they agreed to get; default: every topic.",
    )

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if data["granted"] and not data.get("wording", "").strip():
            raise serializers.ValidationError({"wording": ["Required when granted."]})
        return data


class OrderIn(serializers.Serializer):
    """An order as the shop posts it, upserted by external_id. Rules across fields: an order
    stays with its first customer (another customer.external_id is a 400), its status only moves
    forward (created, paid, delivered; cancelled is final), and every *_at is the moment of
    something that happened: at most a day ahead of our clock."""

    external_id = serializers.CharField(max_length=100)
    customer = CustomerIn()
    items = ItemIn(
        many=True, required=False, help_text="Replaces the order's items; omit to keep them."
    )
    total = fields.MoneyField(**MONEY)
    currency = fields.CurrencyField(max_length=3, validators=[fields.currency])
    status = serializers.ChoiceField(choices=Order.Status.choices, default=Order.Status.CREATED)
    created_at = fields.Instant(
        happened=True, required=False, help_text="When the customer placed the order; default: now."
    )
    paid_at = fields.Instant(happened=True, required=False, help_text="Default: now, once paid.")
    delivered_at = fields.Instant(happened=True, required=False, help_text="Default: now, once so.")
    cancelled_at = fields.Instant(happened=True, required=False, help_text="Default: now, once so.")
    email_opt_in = serializers.BooleanField(
        required=False,
        allow_null=True,
        help_text="Did the customer opt into the shop's e-mail with this order? Omit if unknown; "
        "the subscribe funnel compares its own rate with this one.",
    )

    email_consent = ContactConsentIn(
        required=False,
        help_text="Marketing e-mail opt-in at checkout; needs customer.email. Without one the "
        "customer gets no e-mail from us.",
    )
    sms_consent = ContactConsentIn(
        required=False,
        help_text="Marketing SMS opt-in at checkout; needs customer.phone. Without one the "
        "customer gets no SMS from us.",
    )

    def validate_currency(self, value: str) -> str:
        return value.upper()

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        customer = data["customer"]
        needs = (("email_consent", "email"), ("sms_consent", "phone"))
        for consent, field in needs:
            if data.get(consent, {}).get("granted") and not _usable(field, customer.get(field)):
                raise serializers.ValidationError(
                    {"customer": {field: [f"Required when {consent} is granted."]}}
                )
        return data


def _usable(field: str, value: str | None) -> bool:
    if field == "phone":
        return bool(normalized_phone(value or ""))
    return bool((value or "").strip())


class CustomerOut(serializers.Serializer):
    external_id = serializers.CharField()
    name = serializers.CharField()
    email = serializers.CharField()
    phone = serializers.CharField()
    locale = serializers.CharField()
    time_zone = serializers.CharField()


class ItemOut(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2)


class SubscribeLinksOut(serializers.Serializer):
    subscribe_links = serializers.DictField(
        child=serializers.CharField(), help_text="Channel account name -> deep link."
    )
    subscribe_counted_links = serializers.DictField(
        child=serializers.CharField(),
        help_text="Channel account name -> the same deep link through our /s/ redirect, which "
        "counts the press for the subscribe funnel before going on to the messenger.",
    )
    subscribe_page = serializers.URLField(help_text="The hosted subscribe page for this order.")
    subscribe_email_link = serializers.URLField(
        help_text="For the order confirmation e-mail: the page, counted as that source."
    )
    subscribe_token = serializers.CharField(help_text="For the embed: data-token=...")


class OrderOut(serializers.Serializer):
    external_id = serializers.CharField()
    customer = CustomerOut()
    items = ItemOut(many=True, source="items.all")
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=Order.Status.choices)
    # The request's name for it; the model calls it placed_at (its own created_at is our
    # row's creation time).
    created_at = serializers.DateTimeField(
        source="placed_at", help_text="When the customer placed the order."
    )
    paid_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)


class OrderWithLinksOut(OrderOut, SubscribeLinksOut):
    """What POST /orders/ answers: the order and fresh subscribe links for it."""


class EventIn(serializers.Serializer):
    """An order event, idempotent by event_id (the same id with another body is a 409); the
    order must have been posted first (an unknown order_external_id is a 400)."""

    event_id = serializers.CharField(
        max_length=100, help_text="The shop's id; a repeat changes nothing."
    )
    type = serializers.ChoiceField(choices=OrderEvent.Type.choices)
    order_external_id = serializers.CharField(max_length=100)
    occurred_at = fields.Instant(happened=True)
    data = fields.JsonObjectField(required=False, validators=[fields.json_object])


class EventOut(serializers.Serializer):
    event_id = serializers.CharField()
    type = serializers.ChoiceField(choices=OrderEvent.Type.choices)
    order_external_id = serializers.CharField(source="order.external_id")
    occurred_at = serializers.DateTimeField()
    data = serializers.JSONField()
    received_at = serializers.DateTimeField()


# One instance each, reused: a serializer built per event copies its fields every time (a
# thousand times a batch). Validating and rendering keep nothing on the instance.
_EVENT_IN = EventIn()
EVENT_OUT = EventOut()


def event_validated(data: object) -> dict:
    """`data` as EventIn validates it; else ValidationError with the errors by field, as
    `is_valid` gives them (a body that is null is a non-field error)."""
    try:
        return _EVENT_IN.run_validation(data)
    except serializers.ValidationError as error:
        raise serializers.ValidationError(serializers.as_serializer_error(error)) from None


class SubscriptionOut(serializers.Serializer):
    channel = serializers.CharField(source="account.name")
    kind = serializers.CharField(source="account.kind")
    status = serializers.CharField()
    topics = serializers.ListField(child=serializers.CharField())
    subscribed_at = serializers.DateTimeField()
    unsubscribed_at = serializers.DateTimeField(allow_null=True)


class UnsubscribeOut(serializers.Serializer):
    unsubscribed = serializers.IntegerField(help_text="Subscriptions ended by this call.")


class ConsentOut(serializers.Serializer):
    occurred_at = serializers.DateTimeField()
    channel = serializers.CharField(source="subscription.account.name", allow_null=True)
    platform_user_id = serializers.CharField(
        source="subscription.platform_user_id", allow_null=True
    )
    kind = serializers.CharField()
    source = serializers.CharField()
    evidence = serializers.CharField()
    topics = serializers.ListField(child=serializers.CharField())


class ConsentFilterIn(serializers.Serializer):
    customer = serializers.CharField(
        max_length=100, required=False, help_text="Customer external id."
    )
    since = fields.Instant(required=False, help_text="ISO 8601 with offset; inclusive.")


class ErasureOut(serializers.Serializer):
    erased_at = serializers.DateTimeField()
    requested_by = serializers.CharField()
    removed = serializers.DictField(
        child=serializers.IntegerField(), help_text="Rows removed or blanked, by kind."
    )
