"""E-mail and SMS consent from the shop's checkout, recorded in the consent log.

A messenger chat is the customer's own opt-in (they pressed Start); an e-mail address or a
phone number is not: the shop collects it for the order. So the order API takes the customer's
marketing opt-in for each, with the wording the shop showed and when, and only then does the
customer get a subscription on our e-mail or SMS account. Without one, nothing goes to that
address: no marketing, no survey, no fallback. With one, the topics work as on the messengers.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from channels.models import ChannelAccount
from subscriptions.models import TOPIC_FIELDS, ConsentEvent, Customer, Subscription
from subscriptions.services import consent_record, normalized_phone, subscription_stop
from subscriptions.sources import CHECKOUT_CONSENT

log = logging.getLogger(__name__)

Kind = ConsentEvent.Kind
Status = Subscription.Status
CHANNELS = ("email", "sms")  # the channel kinds a contact consent is for
SOURCE = "api"


@dataclass(frozen=True)
class ContactConsent:
    channel: str  # "email" or "sms"
    granted: bool
    wording: str  # what the customer agreed to, as the shop showed it
    shown_at: datetime
    topics: tuple[str, ...] = tuple(TOPIC_FIELDS)


def contact_address(customer: Customer, channel: str) -> str:
    """The customer's address on `channel` as we send to it ("" if they have none)."""
    if channel == "email":
        return customer.email.strip().lower()
    return normalized_phone(customer.phone)


def contact_consent_apply(
    *, customer: Customer, consent: ContactConsent, evidence: str
) -> Subscription | None:
    """Record the consent and make the customer's subscription on the channel match it.

    Granted: a subscription on the channel's account at the customer's address (a new
    address replaces the old one's). Withdrawn: the subscription ends. Either way the consent
    log gets the event, with the wording and the time the shop showed it. A blocked address
    (bounced, complained) stays blocked: a new checkbox does not make it deliverable.
    """
    account = (
        ChannelAccount.objects.filter(kind=consent.channel, enabled=True).order_by("pk").first()
    )
    address = contact_address(customer, consent.channel)
    text = f"{consent.wording} ({evidence})"[:255]
    with transaction.atomic():
        current = (
            Subscription.objects.select_for_update()
            .filter(customer=customer, account=account, status=Status.ACTIVE)
            .first()
            if account
            else None
        )
        if not consent.granted:
            if current is not None:
                subscription_stop(
                    subscription=current, source=SOURCE, evidence=text, at=consent.shown_at
                )
            else:
                _log(customer, Kind.OPT_OUT, text, consent, topics=[])
            return None
        if account is None or not address:
            # Kept as evidence: a channel set up later finds the customer's consent on record.
            _log(customer, Kind.OPT_IN, text, consent, topics=list(consent.topics))
            return None
        if current is not None and current.platform_user_id != address:
            subscription_stop(
                subscription=current, source=SOURCE, evidence=f"address changed ({evidence})"
            )
            current = None
        subscription = current or _at_address(customer, account, address)
        if subscription is None:
            return None
        return _grant(subscription, consent, text)


def _at_address(customer: Customer, account: ChannelAccount, address: str) -> Subscription | None:
    """The subscription for this address (new, or the customer's earlier one); None when the
    address is another customer's (a shared family mailbox stays with its first owner)."""
    existing = (
        Subscription.objects.select_for_update()
        .filter(account=account, platform_user_id=address)
        .first()
    )
    if existing is None:
        return Subscription.objects.create(
            customer=customer,
            account=account,
            platform_user_id=address,
            status=Status.UNSUBSCRIBED,  # _grant opts it in, with the consent event
            source=CHECKOUT_CONSENT,
        )
    if existing.customer_id != customer.pk:
        log.info("address on %s belongs to customer %s", account.name, existing.customer_id)
        return None
    return existing


def _grant(subscription: Subscription, consent: ContactConsent, text: str) -> Subscription:
    if subscription.status == Status.BLOCKED:
        return subscription
    before, wanted = set(subscription.topics()), set(consent.topics)
    for topic, field in TOPIC_FIELDS.items():
        setattr(subscription, field, topic in wanted)
    if subscription.status == Status.ACTIVE:
        if before != wanted:
            subscription.save(update_fields=list(TOPIC_FIELDS.values()))
            consent_record(subscription, Kind.TOPIC_CHANGE, SOURCE, text, consent.shown_at)
        return subscription
    subscription.status = Status.ACTIVE
    subscription.subscribed_at = consent.shown_at
    subscription.unsubscribed_at = None
    subscription.save(
        update_fields=["status", "subscribed_at", "unsubscribed_at", *TOPIC_FIELDS.values()]
    )
    consent_record(subscription, Kind.OPT_IN, SOURCE, text, consent.shown_at)
    return subscription


def _log(
    customer: Customer, kind: str, text: str, consent: ContactConsent, topics: list[str]
) -> None:
    """A consent with no subscription to hang it on (no account or no address yet)."""
    ConsentEvent.objects.create(
        customer=customer, kind=kind, source=SOURCE, evidence=text, topics=topics,
        occurred_at=consent.shown_at,
    )  # fmt: skip
