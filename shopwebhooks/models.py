"""What the shop is told: one row per event, its id the idempotency key every attempt carries."""

import uuid

from django.db import models
from django.utils import timezone


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
