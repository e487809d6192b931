"""Send-time policies, checked in DESIGN order at the moment of sending; each outcome has a reason.

1 subscription active, 2 topic consent (2b: a weekly menu's customer has not ordered for the
coming week since - campaigns/already_ordered.py), 3 platform window, 4 quiet hours (defer,
never drop), 5 frequency cap across campaigns (marketing; customers in the global holdout,
campaigns/holdout.py, get none), 6 holdout. `evaluate` decides a whole batch with the frequency
cap's counts (campaigns/cap_counts.py) and one query for recent orders (only when a weekly
campaign is in the batch).
"""

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Max

from campaigns.already_ordered import ALREADY_ORDERED, ordered_since
from campaigns.cap_counts import marketing_counts
from campaigns.holdout import GLOBAL_HOLDOUT, in_global_holdout
from campaigns.models import Campaign, Delivery
from channels.providers import PROVIDERS
from channels.providers.base import SendOptions
from subscriptions.models import Order

SEND, SKIP, DEFER = "send", "skip", "defer"
SERVICE, MARKETING = Campaign.Category.SERVICE, Campaign.Category.MARKETING


@dataclass(frozen=True, slots=True)
class Decision:
    action: str  # SEND, SKIP or DEFER
    reason: str = ""
    options: SendOptions | None = None  # for SEND
    due_at: datetime | None = None  # for DEFER
    # SEND of marketing to a customer with another active chat: another account's dispatcher
    # may send them marketing meanwhile, so the cap is checked again as the row is marked
    # `sending` (campaigns/dispatch/cap_fence.py).
    recheck_cap: bool = False


def evaluate(deliveries: Sequence[Delivery], *, now: datetime) -> list[Decision]:
    """One decision per delivery, in order (deliveries need subscription, customer, campaign)."""
    cap = FrequencyCap.load(deliveries, now=now)
    ordered = RecentOrders.load(deliveries)
    return [decide(delivery, now=now, cap=cap, ordered=ordered) for delivery in deliveries]


def decide(
    delivery: Delivery, *, now: datetime, cap: "FrequencyCap", ordered: "RecentOrders"
) -> Decision:
    subscription, campaign = delivery.subscription, delivery.campaign
    if not subscription.is_active:
        return Decision(SKIP, f"subscription {subscription.status}")
    topic = campaign.consent_topic
    if topic and not subscription.wants(topic):
        return Decision(SKIP, f"topic {topic} not consented")
    if ordered.already(delivery):
        return Decision(SKIP, ALREADY_ORDERED)
    options = window_options(delivery, now=now)
    if isinstance(options, Decision):
        return options
    customer = subscription.customer
    if campaign.respect_quiet_hours:
        until = quiet_until(
            now, customer.zone, campaign.quiet_hours_start, campaign.quiet_hours_end
        )
        if until is not None:
            return Decision(DEFER, "quiet hours", due_at=until)
    marketing = campaign.category == MARKETING
    if marketing and in_global_holdout(customer.pk):
        return Decision(SKIP, GLOBAL_HOLDOUT)
    # A fallback after a sent original is this campaign again: the cap counted it once.
    marketing = marketing and not delivery.repeats_sent
    if marketing and cap.reached(customer.pk):
        return Decision(SKIP, "frequency cap")
    if held_out(campaign.pk, subscription.pk, campaign.holdout_percent):
        return Decision(SKIP, "holdout")
    if marketing:
        cap.count(customer.pk)  # a second message in the same batch counts too
        return Decision(SEND, options=options, recheck_cap=customer.pk in cap.shared)
    return Decision(SEND, options=options)


def window_options(delivery: Delivery, *, now: datetime) -> SendOptions | Decision:
    """How to send given the platform's window since the customer's last message, or a skip."""
    subscription, campaign, kind = delivery.subscription, delivery.campaign, delivery.account.kind
    options = SendOptions(
        idempotency_key=str(delivery.pk),
        language=subscription.customer.locale or "en",
        category=campaign.category,
    )
    window = PROVIDERS[kind].window
    last = subscription.last_inbound_at
    if window.is_open(None if last is None else now - last):
        return options
    if window.outside == "intent":  # VK: the adapter declares a non-default intent
        return _outside(options)
    if window.outside == "template":  # WhatsApp: only an approved template may go
        if campaign.whatsapp_template:
            return _outside(options, template=campaign.whatsapp_template)
        return Decision(SKIP, f"{kind} window closed, no template")
    if window.outside == "tags" and campaign.category == SERVICE and delivery.order_id:
        # Messenger's POST_PURCHASE_UPDATE tag is for updates about an existing purchase only;
        # a menu or a survey is never sent under a tag meant for something else.
        return _outside(options)
    return Decision(SKIP, f"{kind} window closed")


def _outside(options: SendOptions, template: str = "") -> SendOptions:
    return SendOptions(
        idempotency_key=options.idempotency_key,
        outside_window=True,
        template=template,
        language=options.language,
        category=options.category,
    )


def quiet_until(now: datetime, zone: ZoneInfo, start: time, end: time) -> datetime | None:
    """The end of the quiet hours `now` falls in (customer's local time), or None if outside."""
    if start == end:
        return None
    local = now.astimezone(zone)
    clock = local.time()
    quiet = start <= clock < end if start < end else (clock >= start or clock < end)
    if not quiet:
        return None
    day = local.date() if clock < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=zone).astimezone(UTC)


def held_out(campaign_id: int, subscription_id: int, percent: float) -> bool:
    """Deterministic: the same subscription is always in (or out of) a campaign's holdout."""
    if percent <= 0:
        return False
    digest = hashlib.blake2b(f"{campaign_id}:{subscription_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest) / 2**64 * 100 < percent


class FrequencyCap:
    """Marketing messages per customer in the last MARKETING_CAP_DAYS, across all campaigns."""

    def __init__(self, counts: Counter[int], shared: frozenset[int] = frozenset()) -> None:
        self.counts = counts
        self.shared = shared  # customers with more than one active chat
        self.limit = settings.MARKETING_CAP_COUNT

    @classmethod
    def load(cls, deliveries: Sequence[Delivery], *, now: datetime) -> "FrequencyCap":
        marketing = [d for d in deliveries if d.campaign.category == MARKETING]
        if not marketing:
            return cls(Counter())
        customers = {d.subscription.customer_id for d in marketing}
        # The batch's own rows are queued too: count those as this batch decides them.
        batch = [d.pk for d in deliveries]
        return cls(*marketing_counts(customers, now=now, queued=(marketing[0].account_id, batch)))

    def reached(self, customer_id: int) -> bool:
        return self.counts[customer_id] >= self.limit

    def count(self, customer_id: int) -> None:
        self.counts[customer_id] += 1


class RecentOrders:
    """Which deliveries of weekly campaigns go to customers who already ordered for the coming
    week (campaigns/already_ordered.py): one query for the batch, none without such a row."""

    def __init__(self, since: dict[int, datetime], last: dict[int, datetime]) -> None:
        self.since = since  # delivery id -> the start of its "already ordered" window
        self.last = last  # customer id -> their latest live order since the earliest start

    @classmethod
    def load(cls, deliveries: Sequence[Delivery]) -> "RecentOrders":
        since: dict[int, datetime] = {}
        for d in deliveries:
            start = ordered_since(d.campaign, d.occurrence, d.subscription.customer.zone)
            if start is not None:
                since[d.pk] = start
        if not since:
            return cls({}, {})
        customers = {d.subscription.customer_id for d in deliveries if d.pk in since}
        rows = (
            Order.objects.filter(customer_id__in=customers, placed_at__gte=min(since.values()))
            .exclude(status=Order.Status.CANCELLED)
            .values_list("customer_id")
            .annotate(last=Max("placed_at"))
            .order_by()
        )
        return cls(since, dict(rows))

    def already(self, delivery: Delivery) -> bool:
        start = self.since.get(delivery.pk)
        if start is None:
            return False
        last = self.last.get(delivery.subscription.customer_id)
        return last is not None and last >= start
