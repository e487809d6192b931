import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from channels.encryption import EncryptedJSONField, EncryptedTextField
from channels.events import EventKind
from channels.providers import KIND_CHOICES, PROVIDERS
from channels.providers.base import Provider

SANDBOX_KIND = "sandbox"


def new_webhook_secret() -> str:
    # Telegram's secret_token allows 1-256 chars of A-Za-z0-9_-; token_urlsafe stays inside.
    return secrets.token_urlsafe(32)


class ChannelAccountQuerySet(models.QuerySet):
    def customer_facing(self) -> "ChannelAccountQuerySet":
        """Enabled accounts a real customer may be offered or reached on: the sandbox account
        only while the sandbox is on (settings.SANDBOX_ENABLED), read at call time."""
        accounts = self.filter(enabled=True)
        if not settings.SANDBOX_ENABLED:
            accounts = accounts.exclude(kind=SANDBOX_KIND)
        return accounts

    def pause(self, seconds: float) -> datetime:
        """Stop every send on these accounts for `seconds` (a longer pause already set wins)."""
        until = timezone.now() + timedelta(seconds=seconds)
        self.filter(Q(paused_until__isnull=True) | Q(paused_until__lt=until)).update(
            paused_until=until
        )
        return until


class ChannelAccount(models.Model):
    """A bot, page, community or phone number the shop owns on one messenger."""

    kind = models.CharField(max_length=20, choices=KIND_CHOICES)
    name = models.SlugField(max_length=50, unique=True, help_text="Used in the webhook URL.")
    # Encrypted at rest (channels/encryption.py); read and written as plain values.
    credentials = EncryptedJSONField(default=dict, blank=True)
    webhook_secret = EncryptedTextField(default=new_webhook_secret)
    api_base = models.URLField(
        blank=True, help_text="Overrides the platform API base URL (tests, proxies)."
    )
    rate_limit = models.FloatField(
        null=True, blank=True, help_text="Sends per second; empty = the platform default."
    )
    enabled = models.BooleanField(default=True)
    # The platform's own stop (a 429's retry-after, a refused token): every sender on the
    # account - campaign dispatcher and replies alike - waits until then. One row, one truth.
    paused_until = models.DateTimeField(
        null=True, blank=True, help_text="No sends until then (set by the platform's 429)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # What the platform bills per message on this account (reach panel's estimated cost).
    price_per_message = models.DecimalField(
        max_digits=10, decimal_places=5, null=True, blank=True,
        help_text="What the platform charges per message sent here (e.g. WhatsApp's marketing "
        "template price); empty = free.",
    )  # fmt: skip
    price_currency = models.CharField(
        max_length=3, blank=True, help_text="ISO code of that price, e.g. EUR."
    )

    objects = ChannelAccountQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    def provider(self, **kwargs) -> Provider:
        return PROVIDERS[self.kind](self, **kwargs)

    @property
    def effective_rate_limit(self) -> float:
        return self.rate_limit or PROVIDERS[self.kind].default_rate_limit

    def paused_for(self, now: datetime | None = None) -> float:
        """Seconds left of the account's pause as loaded (0 if none)."""
        if self.paused_until is None:
            return 0.0
        return max(0.0, (self.paused_until - (now or timezone.now())).total_seconds())


class InboundEvent(models.Model):
    """A verified platform event, stored before anything acts on it."""

    account = models.ForeignKey(ChannelAccount, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(
        max_length=20,
        choices=[(k.value, k.value.replace("_", " ").capitalize()) for k in EventKind],
    )
    platform_user_id = models.CharField(max_length=255, db_index=True)
    event_id = models.CharField(max_length=255)
    occurred_at = models.DateTimeField()
    text = models.TextField(blank=True)
    token = models.CharField(max_length=255, blank=True)
    payload = models.TextField(blank=True)
    message_ids = models.JSONField(default=list, blank=True)
    watermark = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=255, blank=True)
    user_name = models.CharField(max_length=255, blank=True)
    locale = models.CharField(max_length=20, blank=True)
    raw = models.JSONField(default=dict)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    # Stored for a worker to handle (INBOUND_PROCESSING "worker"): nothing in it was masked, so
    # the stored copy is the event as it arrived. A database default too, so processes still on
    # the previous release keep storing events while a deploy rolls out.
    deferred = models.BooleanField(default=False, db_default=False)
    # Which of the INBOUND_STREAMS drains handles it: one customer's events are in one stream,
    # handled in the order they came; streams run side by side.
    stream = models.PositiveSmallIntegerField(default=0, db_default=0)
    # Times handling it failed (each logged), and when the drains may try it again: later after
    # each failure (channels/inbound.py), so an event that keeps failing costs a try an hour
    # at most rather than one every sweep, and is never dropped.
    attempts = models.PositiveSmallIntegerField(default=0, db_default=0)
    retry_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            # Platforms redeliver; the second copy of an update must change nothing.
            models.UniqueConstraint(fields=["account", "event_id"], name="inbound_event_once"),
        ]
        indexes = [
            # The worker's queue: only the deferred events not handled yet, in arrival order.
            models.Index(
                fields=["stream", "id"],
                name="inboundevent_deferred",
                condition=models.Q(deferred=True, processed_at=None),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} from {self.platform_user_id} on {self.account_id}"


class SandboxMessage(models.Model):
    """One line of a conversation in the sandbox messenger (our own web chat)."""

    class Direction(models.TextChoices):
        IN = "in", "Customer to bot"
        OUT = "out", "Bot to customer"

    account = models.ForeignKey(ChannelAccount, on_delete=models.CASCADE)
    conversation = models.CharField(max_length=64, db_index=True)
    direction = models.CharField(max_length=3, choices=Direction.choices)
    body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.conversation} {self.direction} #{self.pk}"
