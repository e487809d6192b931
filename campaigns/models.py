import datetime as dt
import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from channels.models import ChannelAccount
from subscriptions.models import TOPICS, Order, OrderEvent, Subscription


class Campaign(models.Model):
    class Kind(models.TextChoices):
        TRIGGERED = "triggered"
        ONE_OFF = "one_off", "One-off"
        RECURRING = "recurring"

    class Category(models.TextChoices):
        SERVICE = "service"
        SURVEY = "survey"
        MARKETING = "marketing"

    class Status(models.TextChoices):
        DRAFT = "draft"
        SCHEDULED = "scheduled"
        RUNNING = "running"
        PAUSED = "paused"
        FINISHED = "finished"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    category = models.CharField(max_length=20, choices=Category.choices)
    topic = models.CharField(
        max_length=20, blank=True, choices=list(TOPICS.items()),
        help_text="The topic the customer must have chosen. Empty: surveys for a survey, "
        "promotions for marketing; service messages need none.",
    )  # fmt: skip
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)

    # Audience: every filter is optional and they combine with AND.
    accounts = models.ManyToManyField(ChannelAccount, blank=True, help_text="Empty = all.")
    skus = models.JSONField(default=list, blank=True, help_text="Bought any of these SKUs.")
    min_days_since_last_order = models.PositiveIntegerField(null=True, blank=True)
    max_days_since_last_order = models.PositiveIntegerField(null=True, blank=True)
    max_survey_score = models.PositiveSmallIntegerField(null=True, blank=True)
    min_survey_score = models.PositiveSmallIntegerField(null=True, blank=True)
    languages = models.JSONField(
        default=list, blank=True, help_text="Customer locales; empty = all."
    )
    subscribed_topics = models.JSONField(
        default=list, blank=True, help_text="Subscribed to every one of these topics; empty = any."
    )

    # Content: {"default": RichMessage dict, "<channel kind>": RichMessage dict, ...}.
    content = models.JSONField(default=dict)
    whatsapp_template = models.CharField(
        max_length=100, blank=True, help_text="Approved template for outside WhatsApp's window."
    )
    whatsapp_template_params = models.JSONField(
        default=list, blank=True,
        help_text='The template body\'s {{1}}, {{2}}, … in order, with placeholders, e.g. '
        '["{name}", "{items}"].',
    )  # fmt: skip
    whatsapp_template_buttons = models.JSONField(
        default=list, blank=True,
        help_text="The payloads its quick-reply buttons return, in order, e.g. "
        '["survey:{delivery}:5", "survey:{delivery}:1"]; as many as the template has.',
    )  # fmt: skip
    link_url = models.URLField(blank=True, help_text="Shop page for {link}: tracked, with utm.")

    # One-off: send_at. Recurring: weekly on `weekday` at `local_time` in each customer's zone.
    send_at = models.DateTimeField(null=True, blank=True)
    weekday = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(6)], help_text="0 = Monday."
    )
    local_time = models.TimeField(null=True, blank=True)

    # Triggered: an order event type (or "no_order_since_delivery" for win-back) plus a delay.
    trigger_event = models.CharField(max_length=40, blank=True)
    trigger_delay = models.DurationField(default=dt.timedelta)
    trigger_conditions = models.JSONField(default=dict, blank=True)

    holdout_percent = models.FloatField(
        default=0, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    quiet_hours_start = models.TimeField(default=dt.time(21, 0))
    quiet_hours_end = models.TimeField(default=dt.time(9, 0))
    respect_quiet_hours = models.BooleanField(default=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    launched_at = models.DateTimeField(null=True, blank=True)

    # Marketer's workspace (issue #10). Per language: {"uk": {"default": RichMessage dict,
    # "<channel kind>": ...}, ...}; `content` is the default language (campaigns.content).
    content_variants = models.JSONField(default=dict, blank=True)
    # Archived: kept with its send ledger, hidden from the default list, never launched again.
    archived_at = models.DateTimeField(null=True, blank=True)
    # What the reach panel expected at launch, kept to compare with what happened.
    expected_reach = models.JSONField(null=True, blank=True)
    # WhatsApp template language per customer language: {"en": "en_US", "uk": "uk", ...}; a
    # send uses the approved code, never the customer's raw locale (campaigns.content).
    whatsapp_template_languages = models.JSONField(default=dict, blank=True)
    # Fallback (campaigns/fallbacks.py): a message not delivered, or not read, in time goes
    # again on the customer's next channel in this list of kinds.
    fallback_channels = models.JSONField(
        default=list, blank=True, help_text="Channel kinds to try next, in order."
    )
    fallback_not_delivered_after = models.DurationField(null=True, blank=True)
    fallback_not_read_after = models.DurationField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name

    @property
    def consent_topic(self) -> str:
        """The topic a customer must want to get this ("" for service: it needs no consent).

        A survey always needs "surveys"; marketing needs its own topic, "promotions" if none
        was named, so no non-service message reaches a customer who opted out of its kind.
        """
        if self.category == self.Category.SERVICE:
            return ""
        if self.category == self.Category.SURVEY:
            return "surveys"
        return self.topic or "promotions"

    @property
    def priority(self) -> int:
        """Lower goes first: service before surveys before bulk marketing."""
        return {"service": 0, "survey": 1, "marketing": 2}[self.category]


class Delivery(models.Model):
    """The unit of work and the send ledger: one row per campaign, occurrence and subscription."""

    class State(models.TextChoices):
        PENDING = "pending"
        CLAIMED = "claimed"  # an earlier version's claim; recovered like `queued`
        QUEUED = "queued", "Queued for its slot"  # claimed by a dispatcher: waits for its slot
        SENDING = "sending"  # its request may be on the wire
        SENT = "sent"
        FAILED = "failed"
        SKIPPED = "skipped"
        UNKNOWN = "unknown"
        DEFERRED = "deferred"

    # States a row never leaves (a late receipt or answer still stamps its times).
    FINAL_STATES = (State.SENT, State.FAILED, State.SKIPPED, State.UNKNOWN)

    # A million rows are written in one pass (bench/materialize.py), so every index and
    # foreign-key check per row counts: PostgreSQL checks a foreign key with a query per row
    # (for the subscription, one that also locks the subscription's row), and those checks
    # were 40% of a million-row pass, then half of it with only the subscription's left. So
    # no link has a database constraint. The campaign's rows are written only by the pass
    # that holds the campaign's lock; a subscription goes only through the ORM, which takes
    # its rows along (one with consent events not at all: they PROTECT it, and erasure blanks
    # rather than deletes it); the account is a copy of the subscription's (for the claim
    # index); the order and the order event are informational links. The ORM still applies
    # every on_delete. No single-column indexes: the composite ones below lead with campaign,
    # subscription and account.
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="deliveries", db_index=False,
        db_constraint=False,
    )  # fmt: skip
    # "once", an ISO week like "2026-W48", or "event:<order event id>": the same thing twice is
    # the same key, so the unique constraint makes a second send impossible.
    occurrence = models.CharField(max_length=100)
    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, db_index=False, db_constraint=False
    )
    account = models.ForeignKey(
        ChannelAccount, on_delete=models.CASCADE, db_index=False, db_constraint=False
    )
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.SET_NULL, db_index=False,
        db_constraint=False,
    )  # fmt: skip
    order_event = models.ForeignKey(
        OrderEvent, null=True, blank=True, on_delete=models.SET_NULL, db_index=False,
        db_constraint=False,
    )  # fmt: skip
    priority = models.PositiveSmallIntegerField(default=2)
    due_at = models.DateTimeField()
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    claimed_by = models.CharField(max_length=100, blank=True)
    provider_message_id = models.CharField(max_length=255, blank=True)
    reason = models.CharField(max_length=255, blank=True, help_text="Why skipped/deferred/failed.")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    # Fallbacks (campaigns/fallbacks.py). The link has no constraint or cascade: a campaign's
    # million rows are deleted without a look-up per row, and an original outlives its
    # fallbacks anyway (both go with the campaign or the subscription's customer).
    fallback_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.DO_NOTHING, db_index=False,
        db_constraint=False, related_name="fallbacks",
    )  # fmt: skip
    # Decided: a fallback was written for this row, or none ever will be. Database defaults:
    # materialization writes rows with raw SQL that names only the columns it sets.
    fallback_checked = models.BooleanField(default=False, db_default=False)
    # A fallback after its original was sent: the frequency cap has counted this campaign for
    # the customer once already, so this row is neither counted nor held back by that count.
    repeats_sent = models.BooleanField(default=False, db_default=False)
    # When it was first due, kept once a retry or a deferral moves due_at ("not delivered
    # within X" counts from here; campaigns/dispatch/outcomes.py sets it).
    first_due_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        # Resending an `unknown` row may give a customer the message twice: its own permission.
        permissions = [("resend_delivery", "Can resend unknown deliveries")]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "occurrence", "subscription"], name="delivery_once"
            )
        ]
        indexes = [
            models.Index(fields=["account", "state", "priority", "due_at"], name="delivery_due"),
            # Also the subscription's index (cascades, the frequency cap, watermarks).
            models.Index(fields=["subscription", "sent_at"], name="delivery_sent_by_sub"),
            # Partial: a new row has no provider id, order or event yet, so writing one costs
            # these indexes nothing.
            models.Index(
                fields=["account", "provider_message_id"], name="delivery_provider_id",
                condition=~models.Q(provider_message_id=""),
            ),
            models.Index(
                fields=["order"], name="delivery_order", condition=models.Q(order__isnull=False)
            ),
            models.Index(
                fields=["order_event"], name="delivery_order_event",
                condition=models.Q(order_event__isnull=False),
            ),
            models.Index(
                fields=["fallback_of"], name="delivery_fallback_of",
                condition=models.Q(fallback_of__isnull=False),
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.occurrence}/{self.subscription_id} {self.state}"


class DispatchLease(models.Model):
    """One dispatcher per channel account: the owner holds the lease until it expires."""

    account = models.OneToOneField(ChannelAccount, on_delete=models.CASCADE, primary_key=True)
    owner = models.CharField(max_length=100, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # A 429's pause is the account's (ChannelAccount.paused_until): replies obey it too.

    def __str__(self) -> str:
        return f"{self.account_id} held by {self.owner or 'nobody'}"


class SurveyAnswer(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="answers")
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL)
    score = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    comment = models.TextField(blank=True)
    items = models.JSONField(default=list, blank=True, help_text="SKUs of the order answered for.")
    answered_at = models.DateTimeField(default=timezone.now)
    alerted_at = models.DateTimeField(null=True, blank=True, help_text="Low score alert sent.")

    def __str__(self) -> str:
        return f"{self.score} for delivery {self.delivery_id}"


class LinkClick(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="clicks")
    url = models.URLField(max_length=2000)
    clicked_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"click on {self.delivery_id}"


class Attribution(models.Model):
    """A later order credited to the last delivery the customer clicked or read."""

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="attribution")
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attributions")
    via = models.CharField(max_length=10, help_text="click or read")
    attributed_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.order_id} <- {self.delivery_id} ({self.via})"


class TestRecipient(models.Model):
    """A marketer's own chat for test sends. Not a subscription, so never in any audience.

    Linked when the marketer sends `code` to the bot (or types it in the sandbox chat): the
    chat it came from becomes the recipient (campaigns/test_send.py).
    """

    __test__ = False  # not a pytest class, whatever its name

    code = models.CharField(max_length=20, unique=True)
    account = models.ForeignKey(ChannelAccount, null=True, blank=True, on_delete=models.CASCADE)
    platform_user_id = models.CharField(max_length=255, blank=True)
    name = models.CharField(max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    linked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        if self.account_id is None:
            return f"{self.code} (waiting for the message)"
        return f"{self.name or self.platform_user_id} on {self.account}"


class TestSend(models.Model):
    """A draft sent to a test recipient: outside audience and policies, counted in no stat."""

    __test__ = False

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="test_sends")
    recipient = models.ForeignKey(TestRecipient, on_delete=models.CASCADE)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    sent_at = models.DateTimeField(default=timezone.now)
    language = models.CharField(max_length=20, blank=True)
    provider_message_id = models.CharField(max_length=255, blank=True)
    error = models.CharField(max_length=255, blank=True)
    body = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"test of {self.campaign_id} to {self.recipient_id}"


class WhatsAppTemplate(models.Model):
    """A message template of a WhatsApp Business Account, as its Management API lists it
    (campaigns/whatsapp_templates.py syncs them)."""

    account = models.ForeignKey(
        ChannelAccount, on_delete=models.CASCADE, related_name="whatsapp_templates"
    )
    name = models.CharField(max_length=512)
    language = models.CharField(max_length=20, help_text="Its language code, e.g. en_US.")
    category = models.CharField(max_length=30, blank=True)
    status = models.CharField(max_length=30, blank=True)
    parameters = models.PositiveSmallIntegerField(default=0, help_text="{{1}} … in its body.")
    body = models.TextField(blank=True)
    synced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "WhatsApp template"
        constraints = [
            models.UniqueConstraint(
                fields=["account", "name", "language"], name="whatsapp_template_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.language}, {self.status.lower()})"


class CampaignVersion(models.Model):
    """A launched campaign's message as it was before an edit: the deliveries sent between
    `used_from` and `used_until` got this version (campaigns/lifecycle.py)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    fields = models.JSONField(help_text="The content fields as they were.")
    used_from = models.DateTimeField()
    used_until = models.DateTimeField()
    replaced_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        ordering = ["campaign", "number"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "number"], name="campaign_version_once")
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} v{self.number}"


class StatsSnapshot(models.Model):
    """A campaign's figures as a worker last computed them (campaigns/stats_snapshot.py): the
    stats page of a million deliveries reads this row instead of eight aggregates."""

    campaign = models.OneToOneField(Campaign, on_delete=models.CASCADE, related_name="snapshot")
    computed_at = models.DateTimeField()
    seconds = models.FloatField(help_text="How long computing the figures took.")
    figures = models.JSONField()

    def __str__(self) -> str:
        return f"stats of campaign {self.campaign_id} at {self.computed_at:%Y-%m-%d %H:%M:%S}"


class ProgrammeSnapshot(models.Model):
    """The programme dashboard's figures over the last `days` days as last computed
    (campaigns/stats_snapshot.py): over millions of deliveries they take seconds."""

    days = models.PositiveSmallIntegerField(unique=True)
    computed_at = models.DateTimeField()
    seconds = models.FloatField(help_text="How long computing the figures took.")
    figures = models.JSONField()

    def __str__(self) -> str:
        return f"programme of {self.days} days at {self.computed_at:%Y-%m-%d %H:%M:%S}"


class Reorder(models.Model):
    """The customer asked from the chat to order again ("Order for next week", "Repeat my last
    order"); the shop is told (reorder.requested) and answers through the order API."""

    class Kind(models.TextChoices):
        NEXT_WEEK = "next_week", "Order for next week"
        REPEAT = "repeat", "Repeat my last order"

    class State(models.TextChoices):
        REQUESTED = "requested"
        CONFIRMED = "confirmed"
        DECLINED = "declined"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    state = models.CharField(max_length=20, choices=State.choices, default=State.REQUESTED)
    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="reorders"
    )
    delivery = models.ForeignKey(
        Delivery, null=True, blank=True, on_delete=models.SET_NULL, related_name="reorders"
    )
    last_order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="reorders"
    )
    items = models.JSONField(default=list, help_text="The last order's items, as asked for.")
    requested_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    order_external_id = models.CharField(
        max_length=100, blank=True, help_text="The shop's new order, once confirmed."
    )
    note = models.CharField(
        max_length=500, blank=True, help_text="The shop's word to the customer."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subscription"], condition=models.Q(state="requested"),
                name="one_open_reorder_per_chat",
            )
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.public_id} ({self.state})"


class ShortLink(models.Model):
    """A tracked link short enough for an SMS (campaigns/short_links.py): /t/<code>, where the
    code is random, so a link cannot be guessed or walked like a counter."""

    code = models.CharField(max_length=12, unique=True)
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="short_links")
    url = models.URLField(max_length=2000)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["delivery", "url"], name="one_short_link_per_url")
        ]

    def __str__(self) -> str:
        return self.code
