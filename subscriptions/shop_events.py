"""What the shop hears about subscriptions: started, ended, blocked (webhooks out)."""

from datetime import datetime

from shopwebhooks.emit import emit
from shopwebhooks.models import EventType
from subscriptions.models import ConsentEvent, Subscription

TOLD = {
    ConsentEvent.Kind.OPT_IN: EventType.SUBSCRIPTION_STARTED,
    ConsentEvent.Kind.OPT_OUT: EventType.SUBSCRIPTION_ENDED,
    ConsentEvent.Kind.BLOCKED: EventType.SUBSCRIPTION_BLOCKED,
}


def subscription_told(
    subscription: Subscription, kind: str, *, source: str, reason: str, at: datetime
) -> None:
    """Emit the shop event for a consent change of `kind`, if the shop hears of that kind."""
    event_type = TOLD.get(kind)
    if event_type is None:
        return
    order = subscription.order
    emit(
        event_type,
        {
            "subscription_id": subscription.pk,
            "customer_external_id": subscription.customer.external_id,
            "order_external_id": order.external_id if order else None,
            "channel": subscription.account.kind,
            "account": subscription.account.name,
            "source": source,
            "reason": reason if kind == ConsentEvent.Kind.BLOCKED else "",
            "topics": subscription.topics(),
            "at": at.isoformat(),
        },
    )
