"""Resending `unknown` deliveries: the marketer's explicit choice, with its risk stated.

`unknown` means the request may have reached the platform (README: "What `unknown` means").
The dispatcher never resends such a row by itself; a person who judges a missed message worse
than a doubled one may, and the row records who did and what it was before.
"""

from django.db.models import F, Value
from django.db.models.functions import Concat, Left
from django.utils import timezone

from campaigns.models import Delivery
from campaigns.tasks import dispatch_wake

REASON_MAX = Delivery._meta.get_field("reason").max_length or 255


def unknown_resend(*, delivery_ids: list[int], by: str) -> int:
    """Put the `unknown` rows among `delivery_ids` back to due now; returns how many."""
    rows = Delivery.objects.filter(pk__in=delivery_ids, state=Delivery.State.UNKNOWN)
    accounts = set(rows.values_list("account_id", flat=True))
    note = f"resent by {by} after unknown: "
    changed = rows.update(
        state=Delivery.State.PENDING,
        due_at=timezone.now(),
        claimed_by="",
        provider_message_id="",
        sent_at=None,
        reason=Left(Concat(Value(note), F("reason")), REASON_MAX),
    )
    for account_id in accounts:
        dispatch_wake(account_id)
    return changed
