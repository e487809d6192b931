"""What the shop is told, where, and how each telling went.

One ShopEvent per thing that happened (its id is the idempotency key every attempt carries);
one WebhookDelivery per event and endpoint that wants it, retried by the workers
(shopwebhooks/delivery.py) until the endpoint answers 2xx or the retry time runs out.
"""

import secrets
import uuid
from datetime import datetime

from django.core.validators import URLValidator
from django.db import models
from django.utils import timezone

from channels.encryption import EncryptedTextField


class EventType(models.TextChoices):
    SUBSCRIPTION_STARTED = "subscription.started"
    SUBSCRIPTION_ENDED = "subscription.ended"
    SUBSCRIPTION_BLOCKED = "subscription.blocked"
    SURVEY_ANSWERED = "survey.answered"
    SURVEY_LOW_SCORE = "survey.low_score"
    LINK_CLICKED = "link.clicked"
    REORDER_REQUESTED = "reorder.requested"
    FALLBACK_SENT = "fallback.sent"


class ShopEvent(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=40, choices=EventType.choices)
    data = models.JSONField(default=dict)
    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-occurred_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


def new_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


class Endpoint(models.Model):
    """A URL of the shop's that receives the events it asks for, signed with its secret."""

    name = models.CharField(max_length=100, unique=True)
    url = models.URLField(
        max_length=500, validators=[URLValidator(schemes=["http", "https"])],
        help_text="Where events are POSTed (https in production).",
    )  # fmt: skip
    events = models.JSONField(
        default=list, blank=True, help_text="Event types it receives; empty = every type."
    )
    enabled = models.BooleanField(default=True)
    # Secrets open the shop's trust in what we send: encrypted at rest, never shown back.
    secret = EncryptedTextField(default=new_secret)
    # While rotating, the previous secret signs too (a second v1=) until this time.
    previous_secret = EncryptedTextField(blank=True, default="")
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name

    def wants(self, event_type: str) -> bool:
        return self.enabled and (not self.events or event_type in self.events)

    def signing_secrets(self, now: datetime) -> list[str]:
        """The newest secret first, and the previous one while its rotation lasts."""
        keep = (
            self.previous_secret and self.previous_secret_until and now < self.previous_secret_until
        )
        return [self.secret, self.previous_secret] if keep else [self.secret]


class WebhookDelivery(models.Model):
    class State(models.TextChoices):
        PENDING = "pending"  # due at next_attempt_at (also while an attempt is in flight)
        DELIVERED = "delivered"
        GAVE_UP = "gave_up"

    event = models.ForeignKey(ShopEvent, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=255, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="webhook_delivery_once")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], name="webhook_delivery_due",
                condition=models.Q(state="pending"),
            )
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.event} -> {self.endpoint} ({self.state})"
