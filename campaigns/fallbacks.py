"""Fallbacks: a message not delivered, or not read, in time goes again on the customer's next
channel (another messenger, e-mail, SMS).

A campaign names the kinds to try, in order (`fallback_channels`), and when:
`fallback_not_delivered_after` (X, from the row's due time) and `fallback_not_read_after` (Y,
from its send; where the platform sends no read receipts, "not engaged": no click, no answer and
no message from the customer since). The materialize tick calls `fallbacks_tick`, which writes
each fallback as a row of its own in the same ledger (same campaign and occurrence, the next
channel's subscription, reason "fallback after <state> on <kind>"); the dispatcher then sends it
through every send-time policy like any other row. Nothing is scheduled with Celery countdowns:
a tick that did not run is made up by the next one.

Never a fallback when the message was read, clicked or answered, the customer unsubscribed
(from any channel) or placed an order since the row was written, or a policy skipped the row
on purpose (topic, cap, holdout: the customer is not to get it at all). Each row is decided
once (`fallback_checked`); a row still in a dispatcher's hands is looked at again next tick.
"""

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q, QuerySet

from campaigns.models import Campaign, Delivery
from campaigns.tasks import dispatch_wake
from channels.models import ChannelAccount
from channels.providers import PROVIDERS
from subscriptions.models import ConsentEvent, Order, Subscription

log = logging.getLogger(__name__)

State = Delivery.State
# Rows whose moment passed longer ago than this are left alone: a tick after a long outage
# does not send week-old news on another channel.
HORIZON = dt.timedelta(days=3)
BATCH = 1000
# A one-off is finished once every row is final, and its reads come after that.
SENDING_STATUSES = (Campaign.Status.RUNNING, Campaign.Status.FINISHED)
NOT_SENT = (State.PENDING, State.DEFERRED)  # cancelled when their fallback is written
# Skips that are about the channel, not about the customer: the message may go elsewhere.
CHANNEL_SKIPS = ("window closed",)
QUIET_HOURS = "quiet hours"  # campaigns/policies.py's reason for a deferral


@dataclass(frozen=True)
class Verdict:
    """What a row's fallback check found: `fallback` names the state it falls back after
    ("" = no fallback ever, None = not decided yet)."""

    fallback: str | None
    cancel: bool = False  # the row itself has not gone and must not: it is replaced


WAIT, NEVER = Verdict(None), Verdict("")


def fallbacks_tick(*, now: dt.datetime) -> int:
    """Write the fallbacks that are due for every campaign with fallback rules; how many."""
    written = 0
    for campaign in _campaigns():
        while True:
            batch = list(_ready(campaign, now=now)[:BATCH])
            if not batch:
                break
            written += _decide_batch(campaign, batch, now=now)
            if len(batch) < BATCH:
                break
    return written


def _campaigns() -> QuerySet[Campaign]:
    rules = Q(fallback_not_delivered_after__isnull=False) | Q(fallback_not_read_after__isnull=False)
    return (
        Campaign.objects.filter(
            rules, status__in=[Campaign.Status.RUNNING, Campaign.Status.FINISHED]
        )
        .exclude(fallback_channels=[])
        .order_by("pk")
    )


def _ready(campaign: Campaign, *, now: dt.datetime) -> QuerySet[Delivery]:
    """The campaign's undecided rows whose moment has come, in SQL: a row that must still wait
    is never fetched, so a big campaign's waiting rows cannot starve the ready ones."""
    x, y = campaign.fallback_not_delivered_after, campaign.fallback_not_read_after
    longest = max(t for t in (x, y) if t is not None)
    ready = Q()
    decided_states = (State.FAILED, State.SKIPPED, State.UNKNOWN)
    if x is not None:
        receipts = [k for k, p in PROVIDERS.items() if p.delivery_receipts]
        undelivered = Q(state=State.SENT, delivered_at__isnull=True, read_at__isnull=True)
        first_due = Q(first_due_at__lte=now - x) | Q(first_due_at__isnull=True, due_at__lte=now - x)
        ready |= first_due & (
            Q(state__in=(*decided_states, *NOT_SENT))
            | (undelivered & Q(account__kind__in=receipts))
        )
    if y is not None:
        ready |= Q(state=State.SENT, sent_at__lte=now - y)
        ready |= Q(state__in=decided_states, due_at__lte=now - y)
    return (
        Delivery.objects.filter(ready, campaign=campaign, fallback_checked=False)
        .filter(due_at__gte=now - longest - HORIZON)  # due_at only grows: it bounds the scan
        .select_related("account", "subscription")
        .order_by("due_at", "pk")
    )


def verdict(delivery: Delivery, campaign: Campaign, *, now: dt.datetime) -> Verdict:
    """Whether `delivery` falls back now, never, or later (the customer's own signals - orders,
    opt-outs - are checked for the whole batch by the caller)."""
    if delivery.read_at or delivery.clicked_at or delivery.answered_at:
        return NEVER
    if not delivery.subscription.is_active:
        return NEVER
    x, y = campaign.fallback_not_delivered_after, campaign.fallback_not_read_after
    state = delivery.state
    if state == State.UNKNOWN:
        return NEVER  # it may have reached the customer: a fallback could be a second copy
    if state == State.SKIPPED:
        if not any(skip in delivery.reason for skip in CHANNEL_SKIPS):
            return NEVER  # skipped on purpose (topic, cap, holdout, already ordered)
        return Verdict("window closed")
    if state == State.FAILED:
        return Verdict("failed")
    if state in NOT_SENT:
        # Waiting for the morning is on purpose: X counts from then. Retries count from the
        # first time it was due.
        quiet = state == State.DEFERRED and delivery.reason.startswith(QUIET_HOURS)
        due = delivery.due_at if quiet else (delivery.first_due_at or delivery.due_at)
        late = x is not None and due <= now - x
        return Verdict("not delivered", cancel=True) if late else WAIT
    if state != State.SENT:
        return WAIT  # a dispatcher holds it
    provider = PROVIDERS[delivery.account.kind]
    if x is not None and provider.delivery_receipts and delivery.delivered_at is None:
        if (delivery.first_due_at or delivery.due_at) <= now - x:
            return Verdict("not delivered")
    if y is None:
        return NEVER  # delivered (or the platform cannot tell) and no read rule
    if delivery.sent_at is None or delivery.sent_at > now - y:
        return WAIT
    if provider.read_receipts:
        return Verdict("not read")
    last = delivery.subscription.last_inbound_at
    if last is not None and last >= delivery.sent_at:
        return NEVER  # the customer wrote to us after it: engaged
    return Verdict("not engaged")


def next_kinds(campaign: Campaign, tried: list[str]) -> list[str]:
    """The kinds still to try, in the campaign's order: every one not in `tried` (the chain so
    far: the original's kind, then each fallback's)."""
    return [kind for kind in campaign.fallback_channels if kind in PROVIDERS and kind not in tried]


def _decide_batch(campaign: Campaign, batch: list[Delivery], *, now: dt.datetime) -> int:
    verdicts = {d.pk: verdict(d, campaign, now=now) for d in batch}
    falling = [d for d in batch if verdicts[d.pk].fallback]
    quiet = _customers_quiet_since(falling)
    tried = _chains(falling)
    targets = _subscriptions(campaign, falling, tried)
    rows: list[Delivery] = []
    decided = [d.pk for d in batch if verdicts[d.pk].fallback == ""]
    with transaction.atomic():
        cancellable = _lock_unsent([d for d in falling if verdicts[d.pk].cancel])
        for delivery in falling:
            v = verdicts[delivery.pk]
            if v.cancel and delivery.pk not in cancellable:
                continue  # claimed meanwhile: look again next tick
            decided.append(delivery.pk)
            target = targets.get(delivery.pk)
            if delivery.pk in quiet or target is None:
                continue
            if v.cancel:
                replaced = f"replaced by fallback on {target.account.kind}"
                Delivery.objects.filter(pk=delivery.pk).update(
                    state=State.SKIPPED, reason=replaced, claimed_by=""
                )
            rows.append(_fallback_row(delivery, target, after=v.fallback or "", now=now))
        Delivery.objects.filter(pk__in=decided).update(fallback_checked=True)
        Delivery.objects.bulk_create(rows, ignore_conflicts=True)
        for account_id in {row.account_id for row in rows}:
            dispatch_wake(account_id)  # on commit
    for row in rows:
        log.info("campaign %s: %s", campaign.pk, row.reason)
    return len(rows)


def _fallback_row(original: Delivery, target: Subscription, *, after: str, now: dt.datetime):
    return Delivery(
        campaign_id=original.campaign_id,
        occurrence=original.occurrence,
        subscription=target,
        account_id=target.account_id,
        order_id=original.order_id,
        order_event_id=original.order_event_id,
        priority=original.priority,
        due_at=now,
        created_at=now,
        reason=f"fallback after {after} on {original.account.kind}"[:255],
        fallback_of_id=original.pk,
        repeats_sent=original.state == State.SENT or original.repeats_sent,
    )


def _customers_quiet_since(deliveries: list[Delivery]) -> set[int]:
    """Rows whose customer ordered or opted out (anywhere) since the row was written."""
    if not deliveries:
        return set()
    customers = {d.subscription.customer_id for d in deliveries}
    since = min(d.created_at for d in deliveries)
    latest: dict[int, dt.datetime] = {}
    orders = Order.objects.filter(customer_id__in=customers, placed_at__gt=since)
    opt_outs = ConsentEvent.objects.filter(
        customer_id__in=customers,
        occurred_at__gt=since,
        kind__in=[ConsentEvent.Kind.OPT_OUT, ConsentEvent.Kind.BLOCKED],
    )
    for customer_id, at in [
        *orders.values_list("customer_id", "placed_at"),
        *opt_outs.values_list("customer_id", "occurred_at"),
    ]:
        latest[customer_id] = max(at, latest.get(customer_id, at))
    return {
        d.pk
        for d in deliveries
        if latest.get(d.subscription.customer_id, d.created_at) > d.created_at
    }


def _chains(deliveries: list[Delivery]) -> dict[int, list[str]]:
    """Each row's chain of kinds, oldest first: the original's, then each fallback's."""
    chains = {d.pk: [d.account.kind] for d in deliveries}
    parent = {d.pk: d.fallback_of_id for d in deliveries}
    while any(parent.values()):
        ids = {p for p in parent.values() if p}
        found = {
            pk: (kind, up)
            for pk, kind, up in Delivery.objects.filter(pk__in=ids).values_list(
                "pk", "account__kind", "fallback_of_id"
            )
        }
        for pk, p in list(parent.items()):
            if p:
                kind, up = found.get(p, ("", None))
                if kind:
                    chains[pk].insert(0, kind)
                parent[pk] = up
    return chains


def _subscriptions(
    campaign: Campaign, deliveries: list[Delivery], tried: dict[int, list[str]]
) -> dict[int, Subscription]:
    """Each row's fallback target: the customer's active subscription on the first next kind
    that has one and has not had this campaign's occurrence already."""
    if not deliveries:
        return {}
    kinds = {kind for d in deliveries for kind in next_kinds(campaign, tried[d.pk])}
    customers = {d.subscription.customer_id for d in deliveries}
    accounts = ChannelAccount.objects.filter(enabled=True, kind__in=kinds)
    found: dict[tuple[int, str], Subscription] = {}
    for s in (
        Subscription.objects.filter(
            customer_id__in=customers, status=Subscription.Status.ACTIVE, account__in=accounts
        )
        .select_related("account")
        .order_by("pk")
    ):
        found.setdefault((s.customer_id, s.account.kind), s)
    had = defaultdict(set)
    for occurrence, subscription_id in Delivery.objects.filter(
        campaign=campaign, subscription_id__in=[s.pk for s in found.values()]
    ).values_list("occurrence", "subscription_id"):
        had[occurrence].add(subscription_id)
    targets = {}
    for d in deliveries:
        for kind in next_kinds(campaign, tried[d.pk]):
            s = found.get((d.subscription.customer_id, kind))
            if s is not None and s.pk not in had[d.occurrence]:
                targets[d.pk] = s
                break
    return targets


def _lock_unsent(deliveries: list[Delivery]) -> set[int]:
    """The rows still not sent that no dispatcher holds, locked until the transaction ends
    (SKIP LOCKED, as the dispatchers' claims: a row is either theirs or ours)."""
    if not deliveries:
        return set()
    return set(
        Delivery.objects.select_for_update(skip_locked=True)
        .filter(pk__in=[d.pk for d in deliveries], state__in=NOT_SENT)
        .values_list("pk", flat=True)
    )
