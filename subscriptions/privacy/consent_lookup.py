""" "Was X subscribed on date D?" from the consent log, for customers erased or not.

X is an identifier the person gives (subscriptions/privacy/identity.py): an erased customer is
found by the keyed hash the erasure kept of it, a present one by the value itself.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Q

from subscriptions.models import ConsentEvent, Customer, ErasedIdentifier, Subscription
from subscriptions.privacy.identity import identifier_digest, identifier_normalized

Kind = ConsentEvent.Kind


@dataclass(frozen=True)
class ChatConsent:
    """One chat's consent as it stood at the moment asked about."""

    channel: str
    subscribed: bool
    events: list[ConsentEvent] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "subscribed": self.subscribed,
            "events": [
                {
                    "occurred_at": event.occurred_at.isoformat(),
                    "kind": event.kind,
                    "source": event.source,
                    "evidence": event.evidence,
                    "topics": event.topics,
                }
                for event in self.events
            ],
        }


def consent_at(*, identifier: str, at: datetime) -> list[ChatConsent]:
    """Each chat of the customer(s) `identifier` names, with its consent events up to `at`
    and whether it was subscribed then. Empty if nobody is known by it."""
    customers = _customers(identifier)
    subscriptions = Subscription.objects.filter(customer_id__in=customers).select_related("account")
    answers = []
    for subscription in subscriptions.order_by("subscribed_at", "pk"):
        events = list(
            ConsentEvent.objects.filter(subscription=subscription, occurred_at__lte=at).order_by(
                "occurred_at", "id"
            )
        )
        if events:
            answers.append(ChatConsent(subscription.account.name, _subscribed(events), events))
    return answers


def _customers(identifier: str) -> set[int]:
    """Customer pks known by `identifier`: erased ones by the kept hash, others as they are."""
    erased = ErasedIdentifier.objects.filter(digest=identifier_digest(identifier))
    found = set(erased.values_list("erasure__customer_id", flat=True))
    kind, _, value = identifier_normalized(identifier).partition(":")
    present = Customer.objects.filter(erased_at__isnull=True)
    if kind == "customer":
        found |= set(present.filter(external_id=value).values_list("pk", flat=True))
    elif kind == "email":
        found |= set(present.filter(email__iexact=value).values_list("pk", flat=True))
    elif kind == "phone":
        # Phones are stored as the shop sent them: compare their digits.
        candidates = present.filter(phone__endswith=value[-4:]).values_list("pk", "phone")
        found |= {pk for pk, phone in candidates if re.sub(r"\D", "", phone) == value}
    else:
        channel, _, user = value.partition(":")
        chats = Subscription.objects.filter(Q(account__kind=channel), platform_user_id=user)
        found |= set(chats.values_list("customer_id", flat=True))
    return found


def _subscribed(events: list[ConsentEvent]) -> bool:
    """The chat's state after `events`: an opt-in not since ended by an opt-out or a block
    (an unblock restores the last opt-in, as subscription_resubscribe does)."""
    state = False
    decision = None
    for event in events:
        if event.kind in (Kind.OPT_IN, Kind.OPT_OUT):
            decision = event.kind
            state = event.kind == Kind.OPT_IN
        elif event.kind == Kind.BLOCKED:
            state = False
        elif event.kind == Kind.UNBLOCKED:
            state = decision == Kind.OPT_IN
    return state
