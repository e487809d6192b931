"""Subscription flows: linking on Start, leaving, blocks, topics. Every change logs consent.

The linking rule, per channel account: a chat (messenger user) belongs to one customer for good,
and a customer is reached through at most one ACTIVE chat; chats that left stay as history.
A valid token for customer C's order, started by chat U on account A:
  - U is already C's chat on A                    -> re-start: updates the linked order
    (re-subscribes with a new opt_in if U had unsubscribed or blocked);
  - U is another customer's chat on A             -> refused (chat_linked_elsewhere);
  - C is active on A through another chat         -> refused (customer_linked_elsewhere);
  - C's other chats on A have all left (unsubscribed or blocked: a lost phone, a deleted
    account, STOP in an old chat)                 -> U is linked as C's chat (opt_in), the old
    ones stay inactive as history - if the link was issued after the latest of them left;
    an older link is refused (link_predates_leaving) and the customer asked for a fresh one;
  - neither U nor C has a subscription on A       -> U is linked to C and the order (opt_in).
A subscribe link carries the customer's order data, so a forwarded link must not subscribe a
stranger while the customer is subscribed, nor take over once they left. Every other way back to
active (START, the button, a platform unblock, a plain Start) keeps "one active chat": while C
is active through another chat, the old chat stays inactive. Another account - Telegram and
Viber, or two Telegram bots - is independent: a customer may subscribe on several channels.

A Start without a token re-subscribes a chat that had left (unsubscribed or blocked) only where
the platform's start is the customer's own press, `Provider.start_is_explicit`: Telegram's
/start (a blocked bot cannot be started without unblocking it) and VK's Start button. Viber's
conversation_started, a Messenger referral and the sandbox page fire whenever a chat is opened:
there the customer presses "Subscribe again" (or types START).
"""

import logging
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from django.db import transaction
from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from channels.models import SANDBOX_KIND, ChannelAccount
from channels.providers import PROVIDERS
from subscriptions import sources
from subscriptions.models import (
    TOPIC_FIELDS,
    ConsentEvent,
    Customer,
    LinkVisit,
    Order,
    Subscription,
)
from subscriptions.shop_events import subscription_told
from subscriptions.tokens import (
    VISIT_VERSION,
    LinkClaims,
    TokenInvalid,
    link_token_claims,
    token_prefix,
)

log = logging.getLogger(__name__)

Status = Subscription.Status
Kind = ConsentEvent.Kind
LINKED_ELSEWHERE = "customer_linked_elsewhere"
LINK_PREDATES_LEAVING = "link_predates_leaving"


class StartOutcome(StrEnum):
    SUBSCRIBED = "subscribed"  # a new subscription, linked
    RESUBSCRIBED = "resubscribed"  # an unsubscribed or blocked one, active again via a link
    REJOINED = "rejoined"  # active again without a link (START, the button, a plain Start)
    ALREADY = "already"  # already active for this customer (the linked order may have changed)
    PLAIN = "plain"  # a Start without a token; `subscription` is the chat's, if it has one
    INVALID = "invalid"  # malformed, bad signature, expired or unknown order (see `reason`)
    REFUSED = "refused"  # valid, but the rule above says no (see `reason`)


@dataclass(frozen=True)
class StartResult:
    outcome: StartOutcome
    subscription: Subscription | None = None
    reason: str = ""  # why a token was invalid or refused


def subscription_start(
    *,
    account: ChannelAccount,
    platform_user_id: str,
    token: str,
    text: str = "",
    user_name: str = "",
    locale: str = "",
    occurred_at: datetime,
) -> StartResult:
    """Link the messenger user who pressed Start to the order its token names (see module doc).

    `text` is what the platform delivered with a Start (Telegram's "/start"): the evidence of a
    plain Start that re-subscribes.
    """
    existing = Subscription.objects.filter(account=account, platform_user_id=platform_user_id)
    if not token:
        return _plain_start(account, existing, evidence=text.strip() or "start", at=occurred_at)
    try:
        claims = link_token_claims(token)
    except TokenInvalid as exc:
        return _start_rejected(account, platform_user_id, token, StartOutcome.INVALID, exc.reason)
    origin = _origin(account, claims)
    if origin is None:
        return _start_rejected(
            account, platform_user_id, token, StartOutcome.INVALID, "unknown_order"
        )
    evidence = token_prefix(token)
    if origin.customer_id is None:
        return _anonymous_start(
            account, platform_user_id, origin, evidence=evidence, locale=locale, at=occurred_at
        )
    order = origin.order

    with transaction.atomic():
        # Lock the customer: two chats racing on one customer's link are decided one at a time.
        customer = Customer.objects.select_for_update().get(pk=origin.customer_id)
        if customer.erased_at is not None:
            # The person behind the order asked to be forgotten: an old link of theirs must
            # not tie a chat to what is left of them. A new order makes a fresh customer.
            return _start_rejected(
                account, platform_user_id, token, StartOutcome.INVALID, "customer_erased"
            )
        subscription = existing.select_for_update().select_related("customer").first()
        # A chat that subscribed from a QR in the box (no customer) is this customer's now.
        adopting = (
            subscription is not None
            and subscription.customer_id != customer.pk
            and subscription.customer.is_anonymous
        )
        if subscription is not None and subscription.customer_id != customer.pk and not adopting:
            return _start_rejected(
                account, platform_user_id, token, StartOutcome.REFUSED, "chat_linked_elsewhere"
            )
        others = Subscription.objects.filter(account=account, customer=customer).exclude(
            platform_user_id=platform_user_id
        )
        if others.filter(status=Status.ACTIVE).exists():
            return _start_rejected(
                account, platform_user_id, token, StartOutcome.REFUSED, LINKED_ELSEWHERE
            )
        left = others.aggregate(last=Max("unsubscribed_at"))["last"]
        if (subscription is None or adopting) and left and claims.issued_at < _second(left):
            return _start_rejected(
                account, platform_user_id, token, StartOutcome.REFUSED, LINK_PREDATES_LEAVING
            )
        if subscription is None:
            subscription = Subscription.objects.create(
                customer=customer,
                account=account,
                platform_user_id=platform_user_id,
                order=order,
                locale=locale,
                subscribed_at=occurred_at,
                last_inbound_at=occurred_at,
                **origin.fields(),
            )
            consent_record(subscription, Kind.OPT_IN, "deep_link", evidence, occurred_at)
            outcome = StartOutcome.SUBSCRIBED
        else:
            if adopting:
                _adopt(
                    subscription, customer, source="deep_link", evidence=evidence, at=occurred_at
                )
            subscription.order = order or subscription.order
            subscription.locale = locale or subscription.locale
            subscription.save(update_fields=["order", "locale"])
            subscription_touch(subscription=subscription, at=occurred_at)
            if subscription.is_active:
                outcome = StartOutcome.ALREADY
            else:
                _opt_in(subscription, source="deep_link", evidence=evidence, at=occurred_at)
                _record_origin(subscription, origin)
                outcome = StartOutcome.RESUBSCRIBED
    subscription.customer = customer
    log.info(
        "start on %s by %s (%s): %s customer=%s order=%s source=%s token=%s…",
        account.name, platform_user_id, user_name or "-", outcome, customer.pk,
        order.pk if order else "-", origin.source, evidence,
    )  # fmt: skip
    return StartResult(outcome, subscription)


@dataclass(frozen=True)
class Origin:
    """Where a Start came from: the link's order or customer, and its visit's source, device
    and UTM tags (subscriptions/sources.py)."""

    order: Order | None
    customer_id: int | None
    source: str
    device: str = ""
    utm: dict | None = None
    attribution: str = ""
    visit_id: int | None = None

    def fields(self) -> dict[str, object]:
        """The subscription's fields that record it."""
        return {
            "source": self.source,
            "device": self.device,
            "utm": self.utm or {},
            "attribution": self.attribution,
            "visit_id": self.visit_id,
        }


def _origin(account: ChannelAccount, claims: LinkClaims) -> Origin | None:
    """What the token names, or None when that is gone."""
    if claims.version == VISIT_VERSION:
        visit = LinkVisit.objects.select_related("order").filter(pk=claims.pk).first()
        if visit is None:
            return None
        order = visit.order
        origin = Origin(
            order=order,
            customer_id=order.customer_id if order else visit.customer_id,
            source=visit.source,
            device=visit.device,
            utm=visit.utm,
            attribution=visit.name,
            visit_id=visit.pk,
        )
    else:
        order = Order.objects.filter(pk=claims.pk).first()
        if order is None:
            return None
        origin = Origin(order=order, customer_id=order.customer_id, source=sources.DEEP_LINK)
    if account.kind == SANDBOX_KIND:
        # Our own web messenger: whoever starts there is trying the flow out.
        origin = replace(origin, source=sources.SANDBOX)
    return origin


def _anonymous_start(
    account: ChannelAccount,
    platform_user_id: str,
    origin: Origin,
    *,
    evidence: str,
    locale: str,
    at: datetime,
) -> StartResult:
    """A Start from a link naming no customer (a printed QR, an ad): a known chat comes back,
    a new one subscribes for a stand-in customer until an order tells who it is."""
    existing = Subscription.objects.filter(account=account, platform_user_id=platform_user_id)
    subscription = existing.select_related("customer").first()
    if subscription is not None:
        subscription_touch(subscription=subscription, at=at)
        if subscription.is_active:
            return StartResult(StartOutcome.ALREADY, subscription)
        outcome = subscription_rejoin(
            subscription=subscription, source="deep_link", evidence=evidence, at=at
        )
        if outcome == StartOutcome.REJOINED:
            _record_origin(subscription, origin)
        reason = LINKED_ELSEWHERE if outcome == StartOutcome.REFUSED else ""
        return StartResult(outcome, subscription, reason)
    with transaction.atomic():
        customer = Customer.objects.create(
            external_id=f"anon:{uuid.uuid4().hex}",
            is_anonymous=True,
            locale=(locale or "en")[:10],
            phone=_platform_phone(account, platform_user_id),
        )
        subscription = Subscription.objects.create(
            customer=customer,
            account=account,
            platform_user_id=platform_user_id,
            locale=locale,
            subscribed_at=at,
            last_inbound_at=at,
            **origin.fields(),
        )
        consent_record(subscription, Kind.OPT_IN, "deep_link", evidence, at)
    log.info("start on %s: anonymous subscription %s (%s)", account.name, subscription.pk, origin)
    return StartResult(StartOutcome.SUBSCRIBED, subscription)


def customer_adopt_chats(*, customer: Customer, evidence: str, at: datetime | None = None) -> int:
    """Chats that subscribed without a customer and share this customer's phone (WhatsApp
    gives it) or e-mail become theirs; how many. A chat on an account where the customer is
    active through another chat stays as it is (one active chat per account)."""
    if customer.is_anonymous or customer.erased_at is not None:
        return 0
    match = Q()
    phone = normalized_phone(customer.phone)
    if phone:
        match |= Q(phone=phone)
    if customer.email:
        match |= Q(email=customer.email.lower())
    if not match:
        return 0
    # One indexed probe per order post (the partial indexes on anonymous customers).
    stand_ins = Customer.objects.filter(match, is_anonymous=True).values("pk")
    if not stand_ins.exists():
        return 0
    at = at or timezone.now()
    adopted = 0
    with transaction.atomic():
        Customer.objects.select_for_update().filter(pk=customer.pk).first()
        chats = Subscription.objects.select_for_update().filter(customer__in=stand_ins)
        for chat in chats.order_by("pk"):
            if (
                chat.is_active
                and Subscription.objects.filter(
                    account_id=chat.account_id, customer=customer, status=Status.ACTIVE
                ).exists()
            ):
                continue
            _adopt(chat, customer, source="order", evidence=evidence, at=at)
            adopted += 1
    return adopted


def normalized_phone(phone: str) -> str:
    """+ and the digits, or "" when there are too few digits to be a phone number."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    return f"+{digits}" if len(digits) >= 7 else ""


def subscription_rejoin(
    *, subscription: Subscription, source: str, evidence: str, at: datetime
) -> StartOutcome:
    """The customer asked to come back (button, START, an explicit plain Start).

    REJOINED: active again with a new opt_in; ALREADY: it was active; REFUSED: the customer is
    active on this account through another chat now, so this one stays as it is.
    """
    with transaction.atomic():
        locked = _locked(pk=subscription.pk)
        if locked is None:
            return StartOutcome.REFUSED
        if locked.is_active:
            return StartOutcome.ALREADY
        if _active_elsewhere(locked):
            log.info("subscription %s not rejoined: %s", locked.pk, LINKED_ELSEWHERE)
            return StartOutcome.REFUSED
        _opt_in(locked, source=source, evidence=evidence, at=at)
    _refresh(subscription, locked)
    return StartOutcome.REJOINED


def subscription_stop(
    *, subscription: Subscription, source: str, evidence: str, at: datetime | None = None
) -> bool:
    """Unsubscribe (STOP, the button, the API) with an opt_out; False if it was not active."""
    at = at or timezone.now()
    with transaction.atomic():
        locked = Subscription.objects.select_for_update().get(pk=subscription.pk)
        if not locked.is_active:
            return False
        locked.status = Status.UNSUBSCRIBED
        locked.unsubscribed_at = at
        locked.save(update_fields=["status", "unsubscribed_at"])
        consent_record(locked, Kind.OPT_OUT, source, evidence, at)
    _refresh(subscription, locked)
    log.info("subscription %s unsubscribed (%s)", locked.pk, source)
    return True


def subscription_block(
    *,
    account: ChannelAccount,
    platform_user_id: str,
    reason: str,
    source: str = "platform",
    at: datetime | None = None,
) -> Subscription | None:
    """The platform says the user blocked us: mark blocked once (a repeat records nothing)."""
    at = at or timezone.now()
    with transaction.atomic():
        locked = (
            Subscription.objects.select_for_update()
            .filter(account=account, platform_user_id=platform_user_id)
            .first()
        )
        if locked is None:
            log.info("block on %s by unknown user %s: %s", account.name, platform_user_id, reason)
            return None
        if locked.status == Status.BLOCKED:
            return locked
        locked.status = Status.BLOCKED
        locked.unsubscribed_at = locked.unsubscribed_at or at
        locked.save(update_fields=["status", "unsubscribed_at"])
        consent_record(locked, Kind.BLOCKED, source, reason, at)
    log.info("subscription %s blocked: %s", locked.pk, reason)
    return locked


def recipient_gone(*, account: ChannelAccount, platform_user_id: str, reason: str) -> None:
    """A send answered blocked/unsubscribed (the dispatcher's call): the same as a block."""
    subscription_block(
        account=account, platform_user_id=platform_user_id, reason=f"send failed: {reason}"
    )


def subscription_resubscribe(
    *,
    account: ChannelAccount,
    platform_user_id: str,
    reason: str,
    at: datetime | None = None,
) -> Subscription | None:
    """The platform says the user unblocked / subscribed again: undo our block mark.

    Only a blocked subscription changes, with an `unblocked` consent event. It becomes active
    again unless the customer had opted out with us before blocking (STOP, then block): an
    unblock on the platform is not a new opt-in, so that one stays unsubscribed - as it does
    when the customer is active through another chat on this account by now.
    """
    at = at or timezone.now()
    with transaction.atomic():
        locked = _locked(account=account, platform_user_id=platform_user_id)
        if locked is None or locked.status != Status.BLOCKED:
            return locked
        decision = (
            ConsentEvent.objects.filter(subscription=locked, kind__in=[Kind.OPT_IN, Kind.OPT_OUT])
            .order_by("-occurred_at", "-id")
            .values_list("kind", flat=True)
            .first()
        )
        # Since the block the customer may have subscribed from another chat: that one stays.
        if decision == Kind.OPT_OUT or _active_elsewhere(locked):
            locked.status = Status.UNSUBSCRIBED
        else:
            locked.status = Status.ACTIVE
            locked.unsubscribed_at = None
        locked.save(update_fields=["status", "unsubscribed_at"])
        consent_record(locked, Kind.UNBLOCKED, "platform", reason, at)
    log.info("subscription %s unblocked, now %s", locked.pk, locked.status)
    return locked


def subscription_set_topics(
    *,
    subscription: Subscription,
    topics: set[str],
    source: str,
    evidence: str = "",
    at: datetime | None = None,
) -> bool:
    """Set the topics the customer wants, with a topic_change event; False if unchanged."""
    unknown = set(topics) - set(TOPIC_FIELDS)
    if unknown:
        raise ValueError(f"unknown topics: {sorted(unknown)}")
    with transaction.atomic():
        locked = Subscription.objects.select_for_update().get(pk=subscription.pk)
        if set(locked.topics()) == set(topics):
            return False
        for topic, field in TOPIC_FIELDS.items():
            setattr(locked, field, topic in topics)
        locked.save(update_fields=list(TOPIC_FIELDS.values()))
        consent_record(locked, Kind.TOPIC_CHANGE, source, evidence, at or timezone.now())
    _refresh(subscription, locked)
    return True


def customer_unsubscribe(*, customer: Customer, source: str = "api") -> int:
    """Unsubscribe all the customer's active subscriptions; how many there were."""
    count = 0
    with transaction.atomic():
        for subscription in customer.subscriptions.filter(status=Status.ACTIVE):
            count += subscription_stop(subscription=subscription, source=source, evidence=source)
    return count


def subscription_touch(*, subscription: Subscription, at: datetime) -> None:
    """Record the customer's latest message: the platforms' 24 h windows start from it."""
    newer = Q(last_inbound_at__isnull=True) | Q(last_inbound_at__lt=at)
    Subscription.objects.filter(newer, pk=subscription.pk).update(last_inbound_at=at)
    if subscription.last_inbound_at is None or subscription.last_inbound_at < at:
        subscription.last_inbound_at = at


# --- helpers ------------------------------------------------------------------------------------
def _plain_start(
    account: ChannelAccount, existing: QuerySet[Subscription], *, evidence: str, at: datetime
) -> StartResult:
    subscription = existing.select_related("customer").first()
    if subscription is None:
        return StartResult(StartOutcome.PLAIN)
    subscription_touch(subscription=subscription, at=at)
    if subscription.is_active or not PROVIDERS[account.kind].start_is_explicit:
        return StartResult(StartOutcome.PLAIN, subscription)
    outcome = subscription_rejoin(
        subscription=subscription, source="start", evidence=evidence, at=at
    )
    reason = LINKED_ELSEWHERE if outcome == StartOutcome.REFUSED else ""
    return StartResult(outcome, subscription, reason)


def _locked(**filters: object) -> Subscription | None:
    """The subscription, row-locked after its customer: the order subscription_start locks in,
    so two chats of one customer coming back at once are decided one at a time."""
    customer_id = Subscription.objects.filter(**filters).values_list("customer_id", flat=True)
    customer = Customer.objects.select_for_update().filter(pk__in=customer_id[:1])
    list(customer.values_list("pk", flat=True))
    return Subscription.objects.select_for_update().filter(**filters).first()


def _active_elsewhere(subscription: Subscription) -> bool:
    """True if the customer is active on the subscription's account through another chat."""
    return (
        Subscription.objects.filter(
            account_id=subscription.account_id,
            customer_id=subscription.customer_id,
            status=Status.ACTIVE,
        )
        .exclude(pk=subscription.pk)
        .exists()
    )


def _second(at: datetime) -> datetime:
    # Tokens carry whole seconds: a link issued in the same second as the leaving counts as after.
    return at.replace(microsecond=0)


def _start_rejected(
    account: ChannelAccount, platform_user_id: str, token: str, outcome: StartOutcome, reason: str
) -> StartResult:
    log.warning(
        "start on %s by %s not linked: %s (%s), token=%s…",
        account.name, platform_user_id, outcome, reason, token_prefix(token),
    )  # fmt: skip
    subscription = (
        Subscription.objects.filter(account=account, platform_user_id=platform_user_id)
        .select_related("customer")
        .first()
    )
    return StartResult(outcome, subscription, reason)


def _adopt(
    subscription: Subscription, customer: Customer, *, source: str, evidence: str, at: datetime
) -> None:
    """Move a chat from its stand-in customer to the real one, with a `linked` event."""
    log.info("subscription %s moved from %s to customer %s", subscription.pk,
             subscription.customer_id, customer.pk)  # fmt: skip
    stand_in = subscription.customer_id
    subscription.customer = customer
    subscription.save(update_fields=["customer"])
    consent_record(subscription, Kind.LINKED, source, evidence, at)
    # The stand-in's phone was only there to find the customer: it is theirs now, and an
    # erasure of the customer must not leave a copy behind on the stand-in.
    Customer.objects.filter(pk=stand_in, is_anonymous=True).update(phone="", email="")


def _record_origin(subscription: Subscription, origin: Origin) -> None:
    """A new opt-in from a link: the subscription now comes from that link."""
    for field, value in origin.fields().items():
        setattr(subscription, field, value)
    subscription.save(update_fields=[f for f in origin.fields() if f != "visit_id"] + ["visit"])


def _platform_phone(account: ChannelAccount, platform_user_id: str) -> str:
    """The phone number a platform user id is, where the platform's ids are phone numbers
    (Provider.user_ids_are_phones: WhatsApp's wa_id; a business-scoped id, "US.…", is not)."""
    if PROVIDERS[account.kind].user_ids_are_phones and platform_user_id.isdigit():
        return normalized_phone(platform_user_id)
    return ""


def _opt_in(subscription: Subscription, *, source: str, evidence: str, at: datetime) -> None:
    subscription.status = Status.ACTIVE
    subscription.subscribed_at = at
    subscription.unsubscribed_at = None
    subscription.save(update_fields=["status", "subscribed_at", "unsubscribed_at"])
    consent_record(subscription, Kind.OPT_IN, source, evidence, at)


def consent_record(
    subscription: Subscription, kind: str, source: str, evidence: str, at: datetime
) -> ConsentEvent:
    """Append to the consent log for `subscription` (and tell the shop, for the kinds it hears)."""
    subscription_told(subscription, kind, source=source, reason=evidence, at=at)
    return ConsentEvent.objects.create(
        customer_id=subscription.customer_id,
        subscription=subscription,
        kind=kind,
        source=source,
        evidence=evidence[:255],
        topics=subscription.topics(),
        occurred_at=at,
    )


def _refresh(target: Subscription, source: Subscription) -> None:
    """Copy the locked row's state back onto the caller's instance."""
    for field in ("status", "subscribed_at", "unsubscribed_at", *TOPIC_FIELDS.values()):
        setattr(target, field, getattr(source, field))
