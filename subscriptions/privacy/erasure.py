"""Erase one person ("delete everything about me"), keeping what the law and the shop need.

Removed or blanked: the customer's name, e-mail, phone and the shop's id for them; every chat
id (a subscription keeps its row for the statistics, its platform user id becomes
`erased:<pk>`); the inbound events and sandbox messages of those chats; survey comments; link
click rows; the data the shop posted with the orders' events; the provider message ids of
their deliveries (a WhatsApp message id spells the phone number); what admin's history says
about the customer and their chats; the events about them for the shop's webhooks (and their
attempts, sent or not). Pending deliveries are skipped with reason "erased".
No platform is told anything: a goodbye message would be one more message they did not ask for.

Kept, without the person: orders and their items (the shop's bookkeeping), deliveries with
their states, reasons and times, scores of survey answers, attributions - so every campaign's
figures stay as they were - and the consent log. The consent log's rows are not changed at
all (they stay append-only): they point at the customer and subscription rows, which no
longer hold anything that names the person, and the erasure keeps a keyed hash of each of
the person's identifiers (ErasedIdentifier), so "was X subscribed on date D" can still be
answered for someone who gives X (subscriptions/privacy/consent_lookup.py). One row is
appended: an opt-out (source "erasure") for every chat that was still active.

Idempotent: a second erasure of the same customer changes nothing and returns the first log.
"""

import secrets

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from campaigns.models import Delivery, LinkClick, SurveyAnswer
from channels.models import SANDBOX_KIND, InboundEvent, SandboxMessage
from shopwebhooks.models import ShopEvent
from subscriptions.models import (
    Customer,
    ErasedIdentifier,
    ErasureLog,
    OrderEvent,
    Subscription,
)
from subscriptions.privacy.identity import BadIdentifier, identifier_digest
from subscriptions.services import subscription_stop

ERASED = "erased"  # the skipped deliveries' reason and the consent source
# Rows not on the wire yet. A dispatcher holding one (claimed, queued for its pacing slot)
# finds it withdrawn when it marks it `sending` (campaigns/dispatch/marker.py) and drops it;
# `sending` ones may already have left.
NOT_YET_SENT = (
    Delivery.State.PENDING,
    Delivery.State.DEFERRED,
    Delivery.State.CLAIMED,
    Delivery.State.QUEUED,
)


def customer_identifiers(customer: Customer, subscriptions: list[Subscription]) -> list[str]:
    """Every identifier of the person that a later question about them may name."""
    identifiers = [f"customer:{customer.external_id}"]
    if customer.email:
        identifiers.append(f"email:{customer.email}")
    if customer.phone:
        identifiers.append(f"phone:{customer.phone}")
    for subscription in subscriptions:
        identifiers.append(f"chat:{subscription.account.kind}:{subscription.platform_user_id}")
    return identifiers


def customer_erase(*, customer: Customer, requested_by: str) -> ErasureLog:
    """Erase `customer` (see the module doc); the erasure log, the first one if erased before."""
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        done = ErasureLog.objects.filter(customer=locked).first()
        if done is not None:
            return done
        now = timezone.now()
        subscriptions = list(locked.subscriptions.select_related("account").order_by("pk"))
        identifiers = customer_identifiers(locked, subscriptions)
        digests = {digest for digest in map(_digest, identifiers) if digest}
        for subscription in subscriptions:
            subscription_stop(subscription=subscription, source=ERASED, evidence=ERASED, at=now)
        removed = _remove(locked, subscriptions)
        for subscription in subscriptions:
            Subscription.objects.filter(pk=subscription.pk).update(
                platform_user_id=f"{ERASED}:{subscription.pk}", locale=""
            )
        Customer.objects.filter(pk=locked.pk).update(
            # Random, so no id the shop might post later can ever equal it.
            external_id=f"{ERASED}:{locked.pk}:{secrets.token_hex(4)}",
            name="",
            email="",
            phone="",
            erased_at=now,
            updated_at=now,
        )
        log = ErasureLog.objects.create(
            customer=locked, requested_by=requested_by[:150], erased_at=now, removed=removed
        )
        ErasedIdentifier.objects.bulk_create(
            ErasedIdentifier(erasure=log, digest=digest) for digest in sorted(digests)
        )
    customer.refresh_from_db()
    return log


def erasure_find(*, external_id: str) -> ErasureLog | None:
    """The erasure of the customer the shop knew as `external_id`, if there was one."""
    try:
        digest = identifier_digest(f"customer:{external_id}")
    except BadIdentifier:
        return None
    return ErasureLog.objects.filter(identifiers__digest=digest).order_by("-erased_at").first()


def _digest(identifier: str) -> str | None:
    try:
        return identifier_digest(identifier)
    except BadIdentifier:  # an empty chat id, say: nothing to look up by
        return None


def _remove(customer: Customer, subscriptions: list[Subscription]) -> dict[str, int]:
    """Delete or blank what names the person; counts by kind for the erasure log."""
    ids = [subscription.pk for subscription in subscriptions]
    deliveries = Delivery.objects.filter(subscription_id__in=ids)
    chats = Q(pk__in=[])
    sandbox_chats = Q(pk__in=[])
    for subscription in subscriptions:
        chat = Q(account_id=subscription.account_id)
        chats |= chat & Q(platform_user_id=subscription.platform_user_id)
        if subscription.account.kind == SANDBOX_KIND:
            sandbox_chats |= chat & Q(conversation=subscription.platform_user_id)
    removed = {
        "subscriptions": len(ids),
        "deliveries_cancelled": deliveries.filter(state__in=NOT_YET_SENT).update(
            state=Delivery.State.SKIPPED, reason=ERASED
        ),
        "provider_message_ids": deliveries.exclude(provider_message_id="").update(
            provider_message_id=""
        ),
        "survey_comments": SurveyAnswer.objects.filter(delivery__subscription_id__in=ids)
        .exclude(comment="")
        .update(comment=""),
        "link_clicks": LinkClick.objects.filter(delivery__subscription_id__in=ids).delete()[0],
        "inbound_events": InboundEvent.objects.filter(chats).delete()[0],
        "sandbox_messages": SandboxMessage.objects.filter(sandbox_chats).delete()[0],
        "order_event_data": OrderEvent.objects.filter(order__customer=customer)
        .exclude(data={})
        .update(data={}),
        "admin_history": _admin_history_blanked(customer, ids),
        # What the shop's webhooks carry names them too; undelivered attempts go with it.
        "shop_events": ShopEvent.objects.filter(
            data__customer_external_id=customer.external_id
        ).delete()[0],
    }
    return removed


def _admin_history_blanked(customer: Customer, subscription_ids: list[int]) -> int:
    """Admin's change history names the object (its str() is the customer's name)."""
    entries = LogEntry.objects.filter(
        Q(content_type=ContentType.objects.get_for_model(Customer), object_id=str(customer.pk))
        | Q(
            content_type=ContentType.objects.get_for_model(Subscription),
            object_id__in=[str(pk) for pk in subscription_ids],
        )
    )
    return entries.update(object_repr=f"({ERASED})", change_message="")
