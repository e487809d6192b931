"""Fill an empty database with a realistic 30-day month, so every stats chart has data.

Customers in several time zones and languages; orders with subscribe links; visits and
subscriptions from several sources and devices; a weekly menu (recurring, 10% holdout) and an
order survey (triggered on delivery) with receipts, clicks, answers and repeat orders attributed
to them. Rows are written in final states (sent / skipped) on disabled demo accounts, so
`make run` never sends them.
Deterministic for a given --seed.
"""

import datetime as dt
import random
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from campaigns.models import Attribution, Campaign, Delivery, LinkClick, SurveyAnswer
from campaigns.schedule import next_weekly, zone_or_utc
from channels.models import ChannelAccount
from subscriptions import sources
from subscriptions.models import ConsentEvent, Customer, LinkVisit, Order, Subscription

DAYS = 30
MENU_TIME = dt.time(10, 0)
NO_LATE = dt.timedelta(0)
KINDS = ("telegram", "viber", "whatsapp", "messenger", "vk")
LOCALES = ("en", "ru", "uk", "de")
TIME_ZONES = ("Europe/Kyiv", "Europe/Berlin", "Europe/Moscow", "America/New_York", "Asia/Almaty")
VISIT_SOURCES = (sources.CHECKOUT_EMBED, sources.ORDER_EMAIL, sources.HOSTED_PAGE)
CURRENCY = {"en": "EUR", "de": "EUR", "uk": "UAH", "ru": "RUB"}
TOTAL = {"EUR": 35, "UAH": 1400, "RUB": 3200}
# What each platform reports back: Telegram nothing, VK reads only (as the stats page says).
DELIVERED = {"viber", "whatsapp", "messenger"}
READ = DELIVERED | {"vk"}


class Command(BaseCommand):
    help = "Fill an empty database with a realistic 30-day month of campaigns and answers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=400)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args: object, customers: int, seed: int, **options: object) -> None:
        if Customer.objects.exists():
            raise CommandError("demo_history fills an empty database; this one has customers.")
        with transaction.atomic():
            counts = demo_history_fill(customers=customers, rng=random.Random(seed))
        self.stdout.write(", ".join(f"{n} {name}" for name, n in counts.items()))


def _minutes_to_open(rng: random.Random) -> float:
    """Most read within half an hour (the case's ~30 minutes), a long tail to a day."""
    return min(rng.expovariate(1 / 30), 24 * 60)


def demo_history_fill(*, customers: int, rng: random.Random) -> dict[str, int]:
    """Write the month; return how many rows of each kind were written."""
    now = timezone.now().replace(second=0, microsecond=0)
    start = now - dt.timedelta(days=DAYS)
    accounts = {
        # Disabled: they have no credentials, so nothing may be sent or offered on them.
        kind: ChannelAccount.objects.get_or_create(
            name=f"demo-{kind}", defaults={"kind": kind, "enabled": False}
        )[0]
        for kind in KINDS
    }
    people, orders, visits, subs = [], [], [], []
    for n in range(customers):
        locale = LOCALES[n % len(LOCALES)]
        people.append(
            Customer(
                external_id=f"demo-{n}",
                name=f"Customer {n}",
                locale=locale,
                time_zone=TIME_ZONES[n % len(TIME_ZONES)],
            )
        )
    Customer.objects.bulk_create(people)
    for n, customer in enumerate(people):
        placed = start + dt.timedelta(minutes=rng.randrange(DAYS * 24 * 60))
        currency = CURRENCY[customer.locale]
        orders.append(
            Order(
                external_id=f"demo-{n}",
                customer=customer,
                total=Decimal(TOTAL[currency]) * Decimal(rng.choice((1, 1, 2))),
                currency=currency,
                status=Order.Status.DELIVERED,
                placed_at=placed,
                paid_at=placed + dt.timedelta(minutes=5),
                delivered_at=placed + dt.timedelta(days=1),
                links_issued_at=placed,
                email_opt_in=rng.random() < 0.2,
            )
        )
    Order.objects.bulk_create(orders)
    for n, order in enumerate(orders):
        if rng.random() > 0.6:  # 60% open the subscribe page or link
            continue
        device = rng.choices(("phone", "desktop", "tablet"), (6, 3, 1))[0]
        subscribes = rng.random() < 0.55
        kind = rng.choices(KINDS, (5, 2, 2, 2, 1))[0]
        source = rng.choice(VISIT_SOURCES)
        opened = order.placed_at + dt.timedelta(minutes=rng.randrange(1, 120))
        visits.append(
            LinkVisit(
                source=source,
                order=order,
                customer=order.customer,
                device=device,
                link_issued_at=order.placed_at,
                opened_at=opened,
                redirects=int(subscribes or rng.random() < 0.3),
                channel=kind if subscribes else "",
            )
        )
        if subscribes:
            subs.append(
                Subscription(
                    customer=order.customer,
                    account=accounts[kind],
                    platform_user_id=f"demo-{kind}-{n}",
                    order=order,
                    source=source,
                    device=device,
                    subscribed_at=opened + dt.timedelta(minutes=1),
                )
            )
    # A few chats from a printed QR code in the box: no order, a stand-in customer.
    for n in range(max(customers // 40, 1)):
        ghost = Customer.objects.create(external_id=f"demo-qr-{n}", is_anonymous=True)
        subs.append(
            Subscription(
                customer=ghost,
                account=accounts["telegram"],
                platform_user_id=f"demo-qr-{n}",
                source=sources.QR_SCAN,
                device="phone",
                subscribed_at=start + dt.timedelta(days=rng.randrange(DAYS)),
            )
        )
    LinkVisit.objects.bulk_create(visits)
    Subscription.objects.bulk_create(subs)
    # Every chat's story starts with its opt-in, as subscription_start records it.
    ConsentEvent.objects.bulk_create(
        ConsentEvent(
            customer_id=sub.customer_id,
            subscription=sub,
            kind=ConsentEvent.Kind.OPT_IN,
            source="deep_link",
            evidence="demo_history",
            topics=sub.topics(),
            occurred_at=sub.subscribed_at,
        )
        for sub in subs
    )

    menu = Campaign.objects.create(
        name="Weekly menu",
        kind=Campaign.Kind.RECURRING,
        category=Campaign.Category.MARKETING,
        topic="menu",
        status=Campaign.Status.RUNNING,
        content={"default": {"text": "Hi {name}! Next week's menu is out: {link}"}},
        link_url="https://shop.example/menu",
        weekday=3,
        local_time=MENU_TIME,
        holdout_percent=10,
        launched_at=start,
    )
    survey = Campaign.objects.create(
        name="How was your order?",
        kind=Campaign.Kind.TRIGGERED,
        category=Campaign.Category.SURVEY,
        topic="surveys",
        status=Campaign.Status.RUNNING,
        content={"default": {"text": "How did you like your order, {name}?"}},
        trigger_event="order.delivered",
        trigger_delay=dt.timedelta(hours=2),
        launched_at=start,
    )
    deliveries: list[Delivery] = []
    for sub in subs:
        held_out = rng.random() < 0.10
        # The scheduler's own occurrences (ISO week, 10:00 in the customer's zone), so a real
        # run of this week's menu finds its rows already written.
        zone = zone_or_utc(sub.customer.time_zone)
        week = next_weekly(weekday=3, local_time=MENU_TIME, zone=zone, now=start, late=NO_LATE)
        while week.due_at < now:
            if week.due_at > sub.subscribed_at:
                deliveries.append(_delivery(rng, menu, sub, week.key, week.due_at, held_out))
            later = week.due_at + dt.timedelta(minutes=1)
            week = next_weekly(weekday=3, local_time=MENU_TIME, zone=zone, now=later, late=NO_LATE)
        if sub.order is not None and sub.order.delivered_at + dt.timedelta(hours=2) < now:
            due = sub.order.delivered_at + dt.timedelta(hours=2)
            deliveries.append(_delivery(rng, survey, sub, f"order:{sub.order_id}", due, False))
    Delivery.objects.bulk_create(deliveries)

    clicks, answers, attributions, repeat_orders = [], [], [], []
    for row in deliveries:
        if row.state != Delivery.State.SENT:
            # Held out: some come back anyway - the baseline the uplift is measured against.
            if rng.random() < 0.12:
                repeat_orders.append((row, None))
            continue
        if row.clicked_at:
            clicks.append(LinkClick(delivery=row, url=menu.link_url, clicked_at=row.clicked_at))
            if rng.random() < 0.5:
                repeat_orders.append((row, "click"))
        if row.answered_at:
            answers.append(
                SurveyAnswer(
                    delivery=row,
                    order=row.order,
                    score=rng.choices((1, 2, 3, 4, 5), (1, 1, 2, 5, 9))[0],
                    answered_at=row.answered_at,
                )
            )
    # A few leave after their latest menu (STOP within a few hours), so nothing follows it.
    latest = {row.subscription_id: row for row in deliveries if row.campaign_id == menu.pk}
    for row in list(latest.values())[::12]:
        if row.sent_at and not row.clicked_at:
            left = row.sent_at + dt.timedelta(hours=rng.randrange(1, 6))
            Subscription.objects.filter(pk=row.subscription_id).update(
                status=Subscription.Status.UNSUBSCRIBED, unsubscribed_at=left
            )
            ConsentEvent.objects.create(
                customer_id=row.subscription.customer_id,
                subscription=row.subscription,
                kind=ConsentEvent.Kind.OPT_OUT,
                source="keyword",
                evidence="STOP",
                occurred_at=left,
            )
    LinkClick.objects.bulk_create(clicks)
    SurveyAnswer.objects.bulk_create(answers)
    for n, (row, via) in enumerate(repeat_orders):
        placed = row.due_at + dt.timedelta(hours=rng.randrange(1, 72))
        if placed >= now:
            continue
        customer = row.subscription.customer
        currency = CURRENCY.get(customer.locale, "EUR")
        order = Order.objects.create(
            external_id=f"demo-repeat-{n}",
            customer=customer,
            total=Decimal(TOTAL[currency]),
            currency=currency,
            status=Order.Status.PAID,
            placed_at=placed,
            paid_at=placed,
        )
        if via:
            attributions.append(Attribution(order=order, delivery=row, via=via))
    Attribution.objects.bulk_create(attributions)
    return {
        "customers": Customer.objects.count(),
        "orders": Order.objects.count(),
        "visits": len(visits),
        "subscriptions": len(subs),
        "deliveries": len(deliveries),
        "clicks": len(clicks),
        "answers": len(answers),
        "attributed orders": len(attributions),
    }


def _delivery(
    rng: random.Random,
    campaign: Campaign,
    sub: Subscription,
    occurrence: str,
    due: dt.datetime,
    held_out: bool,
) -> Delivery:
    """One row in its final state, with the receipts its platform would have sent back."""
    row = Delivery(
        campaign=campaign,
        occurrence=occurrence,
        subscription=sub,
        account=sub.account,
        order=sub.order if campaign.category == Campaign.Category.SURVEY else None,
        due_at=due,
        created_at=due,
    )
    if held_out:
        row.state, row.reason = Delivery.State.SKIPPED, "holdout"
        return row
    row.state, row.attempts = Delivery.State.SENT, 1
    row.sent_at = due + dt.timedelta(seconds=rng.randrange(1, 300))
    row.provider_message_id = f"demo-{campaign.pk}-{occurrence}-{sub.platform_user_id}"
    opened = row.sent_at + dt.timedelta(minutes=_minutes_to_open(rng))
    if sub.account.kind in DELIVERED:
        row.delivered_at = row.sent_at + dt.timedelta(seconds=2)
    if sub.account.kind in READ and rng.random() < 0.8:
        row.read_at = opened
    if campaign.category == Campaign.Category.SURVEY:
        if rng.random() < 0.4:
            row.answered_at = opened + dt.timedelta(minutes=1)
    elif rng.random() < 0.18:
        row.clicked_at = opened + dt.timedelta(minutes=1)
    return row
