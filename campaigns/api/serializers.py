"""Small input/output serializers of the campaigns API."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from campaigns.models import Campaign
from campaigns.services import campaign_errors
from channels.models import ChannelAccount
from channels.providers import PROVIDERS
from subscriptions.models import TOPICS

FIELDS = [
    "name", "kind", "category", "topic", "accounts", "skus", "min_days_since_last_order",
    "max_days_since_last_order", "min_survey_score", "max_survey_score", "languages",
    "subscribed_topics", "content", "whatsapp_template", "whatsapp_template_params",
    "whatsapp_template_buttons", "link_url", "send_at", "weekday", "local_time", "trigger_event",
    "trigger_delay", "trigger_conditions", "holdout_percent", "quiet_hours_start",
    "quiet_hours_end", "respect_quiet_hours", "fallback_channels", "fallback_not_delivered_after",
    "fallback_not_read_after",
]  # fmt: skip


# The schema is the contract (tests/api/test_schema_contract.py): a time of day in the customer's
# own zone has no offset, which OpenAPI's "time" format demands; an unset link is "", not a URI.
LOCAL_TIME = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$"


@extend_schema_field({"type": "string", "pattern": LOCAL_TIME, "example": "21:00:00"})
class LocalTimeField(serializers.TimeField):
    """A wall-clock time without offset: quiet hours and weekly times in each customer's zone."""


@extend_schema_field(
    {
        "anyOf": [
            {"type": "string", "format": "uri", "maxLength": 200},
            {"type": "string", "maxLength": 0},
        ]
    }
)
class OptionalUrlField(serializers.URLField):
    """A URL, or "" for none."""


@extend_schema_field({"type": "object", "additionalProperties": True})
class ObjectField(serializers.JSONField):
    """A JSON object (not null)."""


class CampaignOut(serializers.ModelSerializer):
    accounts = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    topic = serializers.ChoiceField(choices=list(TOPICS.items()), allow_blank=True, read_only=True)
    link_url = OptionalUrlField(read_only=True)
    local_time = LocalTimeField(read_only=True, allow_null=True)
    quiet_hours_start = LocalTimeField(read_only=True)
    quiet_hours_end = LocalTimeField(read_only=True)

    class Meta:
        model = Campaign
        fields = ["id", *FIELDS, "status", "created_at", "updated_at", "launched_at"]
        read_only_fields = fields


class CampaignIn(serializers.ModelSerializer):
    """A campaign as the marketer posts it. Rules across fields (each a 400 naming the field):
    a one_off needs send_at; a recurring one weekday and local_time; a triggered one a
    trigger_event (an order event type or no_order_since_delivery). A service message takes no
    topic, a survey only "surveys" (or none), marketing "menu" or "promotions" (none means
    promotions). content's keys are "default" or channel kinds, each a non-empty message (text,
    image_url or cards); min_* may not exceed max_*; trigger_delay may not be negative."""

    accounts = serializers.PrimaryKeyRelatedField(
        many=True, queryset=ChannelAccount.objects.all(), required=False
    )
    skus = serializers.ListField(child=serializers.CharField(max_length=100), required=False)
    languages = serializers.ListField(child=serializers.CharField(max_length=10), required=False)
    whatsapp_template_params = serializers.ListField(
        child=serializers.CharField(max_length=1024, allow_blank=False),
        required=False,
        help_text='The template body\'s parameters in order, with placeholders: ["{name}"].',
    )
    whatsapp_template_buttons = serializers.ListField(
        child=serializers.CharField(max_length=256, allow_blank=False),
        required=False,
        help_text='Payloads of the template\'s quick replies in order: ["survey:{delivery}:5"].',
    )
    subscribed_topics = serializers.ListField(
        child=serializers.ChoiceField(choices=list(TOPICS)),
        required=False,
        help_text="Customers subscribed to every one of these topics; empty = any.",
    )
    min_survey_score = serializers.IntegerField(
        min_value=1, max_value=5, required=False, allow_null=True
    )
    max_survey_score = serializers.IntegerField(
        min_value=1, max_value=5, required=False, allow_null=True
    )
    content = ObjectField(
        help_text='{"default": RichMessage, "<channel kind>": RichMessage}; RichMessage is '
        '{"text", "image_url", "buttons": [{"text", "url" | "payload"}], "quick_replies", '
        '"cards": [{"title", "subtitle", "image_url", "buttons"}]}. Placeholders: {name}, '
        "{order}, {items}, {link}, {delivery}."
    )
    trigger_delay = serializers.DurationField(
        required=False, help_text='"HH:MM:SS", "D HH:MM:SS" or ISO 8601 ("PT3H").'
    )
    trigger_conditions = ObjectField(
        required=False,
        help_text='e.g. {"skip_already_ordered": false, "exclude_ordered_since_days": 14}',
    )
    link_url = OptionalUrlField(required=False, allow_blank=True, max_length=200)
    fallback_channels = serializers.ListField(
        child=serializers.ChoiceField(choices=list(PROVIDERS)),
        required=False,
        help_text='Channel kinds to try next, in order: ["whatsapp", "email", "sms"].',
    )
    fallback_not_delivered_after = serializers.DurationField(
        required=False,
        allow_null=True,
        help_text="Fall back when the message is not delivered this long after it was due.",
    )
    fallback_not_read_after = serializers.DurationField(
        required=False,
        allow_null=True,
        help_text="Fall back when the message is not read (where the platform has no reads: "
        "not clicked, answered or replied to) this long after it was sent.",
    )
    local_time = LocalTimeField(required=False, allow_null=True)
    quiet_hours_start = LocalTimeField(required=False)
    quiet_hours_end = LocalTimeField(required=False)

    class Meta:
        model = Campaign
        fields = FIELDS

    def validate_link_url(self, value: str) -> str:
        if value and not value.lower().startswith(("http://", "https://")):
            raise serializers.ValidationError("Only http and https links can be tracked.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        fields = {key: value for key, value in attrs.items() if key != "accounts"}
        errors: dict[str, Any] = dict(campaign_errors(Campaign(**fields)))
        for low, high in (("min_days_since_last_order", "max_days_since_last_order"),
                          ("min_survey_score", "max_survey_score")):  # fmt: skip
            if attrs.get(low) is not None and attrs.get(high) is not None:
                if attrs[low] > attrs[high]:
                    errors[low] = f"Must not be greater than {high}."
        if errors:
            raise serializers.ValidationError({key: [message] for key, message in errors.items()})
        return attrs


class LaunchOut(CampaignOut):
    materialized = serializers.IntegerField(help_text="Delivery rows written by this launch.")

    class Meta(CampaignOut.Meta):
        fields = [*CampaignOut.Meta.fields, "materialized"]
        read_only_fields = fields


class StatsOut(serializers.Serializer):
    """Documentation shape of GET /campaigns/{id}/stats/."""

    computed_at = serializers.DateTimeField(
        help_text="When these figures were computed: a worker refreshes them every minute "
        "(STATS_SNAPSHOT_SECONDS); an answer is at most STATS_SNAPSHOT_MAX_AGE seconds old."
    )
    by_state = serializers.DictField(child=serializers.IntegerField())
    by_reason = serializers.DictField(child=serializers.IntegerField())
    per_channel = serializers.DictField(
        child=serializers.DictField(), help_text="{channel kind: {by_state: {}, by_reason: {}}}"
    )
    total = serializers.IntegerField()
    delivered = serializers.IntegerField()
    read = serializers.IntegerField()
    clicked = serializers.IntegerField()
    answered = serializers.IntegerField()
    channels = serializers.DictField(
        child=serializers.DictField(),
        help_text="{channel kind: {sent, delivered, read, clicked, answered, replied, engaged, "
        "unsubscribed, blocked (within 48 h of the delivery), reports: the receipts the platform "
        "sends, open_rate (% of delivered; of sent where only reads are reported; null where "
        "the platform reports no reads, e.g. Telegram), click_rate, engaged_rate (% of sent), "
        "time_to_open: {median_seconds, p90_seconds (nearest rank), histogram {bucket: count}} "
        "or null}}",
    )
    survey = serializers.DictField(
        help_text="answers, response_rate (% of sent), average, scores {1..5: count}"
    )
    attributed_orders = serializers.IntegerField()
    attributed_revenue = serializers.CharField(
        allow_null=True,
        help_text="The revenue when every attributed order has one currency, else null.",
    )
    attributed_by_currency = serializers.ListField(
        child=serializers.DictField(),
        help_text="[{currency, orders, revenue}], never summed across currencies",
    )
    holdout = serializers.DictField(
        help_text="sent / holdout: members, repeat_buyers, repeat_rate (%); uplift_points, "
        "ci95_points [lower, upper] (Newcombe's hybrid Wilson score), method, verdict"
    )
    per_day = serializers.ListField(
        child=serializers.DictField(),
        help_text="[{day, sent, read, clicked, answered}] by day sent",
    )


class ReachChannelOut(serializers.Serializer):
    """One channel account's share of the reach."""

    account = serializers.CharField()
    account_id = serializers.IntegerField()
    kind = serializers.CharField()
    audience = serializers.IntegerField(help_text="Customers picked on this account.")
    send = serializers.IntegerField(help_text="Would be sent now.")
    deferred = serializers.IntegerField(help_text="In their quiet hours: sent when they end.")
    no_consent = serializers.IntegerField(help_text="Did not choose the campaign's topic.")
    already_ordered = serializers.IntegerField(help_text="Weekly: already ordered this cycle.")
    window_closed = serializers.IntegerField(help_text="Outside the platform's window.")
    capped = serializers.IntegerField(help_text="Frequency cap reached.")
    held_out = serializers.IntegerField(help_text="Kept back to measure the effect.")
    outside_window = serializers.IntegerField(
        help_text="Of `send`: in the platform's out-of-window form (WhatsApp billed template, "
        "VK intent)."
    )
    deferred_until = serializers.DictField(
        child=serializers.DateTimeField(allow_null=True),
        help_text='{"first": time, "last": time}: when the deferred ones go.',
    )
    billed = serializers.IntegerField(help_text="Messages the platform bills (sent + deferred).")
    billed_units_each = serializers.IntegerField(
        help_text="Units one message is billed as: SMS segments (GSM-7 or UCS-2), else 1."
    )
    cost = serializers.CharField(
        help_text="billed x billed_units_each x the account's price per message (or segment)."
    )
    currency = serializers.CharField(allow_blank=True)


class ReachOut(serializers.Serializer):
    """GET /campaigns/{id}/reach/: who would get it if it were sent now."""

    computed_at = serializers.DateTimeField()
    channels = ReachChannelOut(many=True)
    totals = serializers.DictField(child=serializers.IntegerField())
