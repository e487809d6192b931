import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.materialize import one_off_materialize
from campaigns.models import Campaign, Delivery, SurveyAnswer
from campaigns.services import materialize_tick
from subscriptions.models import Customer, Subscription
from tests.factories import (
    CampaignFactory,
    ChannelAccountFactory,
    CustomerFactory,
    DeliveryFactory,
    OrderFactory,
    OrderItemFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)


def one_off(**fields) -> Campaign:
    fields.setdefault("send_at", NOW + dt.timedelta(minutes=1))
    fields.setdefault("status", "scheduled")
    return CampaignFactory(kind="one_off", **fields)


def subscriber(**fields) -> Subscription:
    fields.setdefault("order", None)
    return SubscriptionFactory(**fields)


def audience(campaign: Campaign) -> set[int]:
    return set(Delivery.objects.filter(campaign=campaign).values_list("subscription_id", flat=True))


def test_it_writes_one_pending_delivery_per_active_subscription():
    # given two active subscribers, one unsubscribed and one on a disabled account
    campaign = one_off(category="service", topic="")
    active = [subscriber(), subscriber()]
    subscriber(status="unsubscribed")
    subscriber(account=ChannelAccountFactory(kind="viber", enabled=False))
    # when
    created = one_off_materialize(campaign=campaign, now=NOW)
    # then
    assert created == 2
    assert audience(campaign) == {s.pk for s in active}
    row = Delivery.objects.get(campaign=campaign, subscription=active[0])
    assert (row.state, row.occurrence, row.due_at) == ("pending", "once", campaign.send_at)
    assert (row.account_id, row.priority) == (active[0].account_id, 0)


def test_it_writes_one_delivery_per_customer_on_their_most_recently_active_subscription():
    # given customers on two channels: one last wrote on Viber, one never wrote (the newer
    # subscription wins), and one whose Viber account the campaign does not reach
    telegram, viber = ChannelAccountFactory(kind="telegram"), ChannelAccountFactory(kind="viber")
    wrote, never, outside = CustomerFactory(), CustomerFactory(), CustomerFactory()
    subscriber(customer=wrote, account=telegram, last_inbound_at=NOW - dt.timedelta(days=5))
    wrote_viber = subscriber(customer=wrote, account=viber, last_inbound_at=NOW)
    subscriber(customer=never, account=telegram, subscribed_at=NOW - dt.timedelta(days=9))
    never_viber = subscriber(customer=never, account=viber, subscribed_at=NOW)
    outside_telegram = subscriber(customer=outside, account=telegram)
    subscriber(customer=outside, account=ChannelAccountFactory(kind="vk"), last_inbound_at=NOW)
    campaign = one_off()
    campaign.accounts.set([telegram, viber])
    # when
    created = one_off_materialize(campaign=campaign, now=NOW)
    # then
    assert created == 3
    assert audience(campaign) == {wrote_viber.pk, never_viber.pk, outside_telegram.pk}


def test_a_later_pass_adds_no_second_delivery_when_the_customer_moves_channel():
    # given a customer who got a row on Telegram, then wrote on Viber
    telegram = subscriber(last_inbound_at=NOW - dt.timedelta(days=1))
    campaign = one_off()
    one_off_materialize(campaign=campaign, now=NOW)
    subscriber(customer=telegram.customer, account=ChannelAccountFactory(kind="viber"),
               last_inbound_at=NOW)  # fmt: skip
    # when the audience is read again (a relaunch)
    assert one_off_materialize(campaign=campaign, now=NOW) == 0
    # then still the one delivery
    assert audience(campaign) == {telegram.pk}


def test_it_inserts_nothing_on_a_second_run():
    campaign = one_off()
    subscriber(), subscriber()
    assert one_off_materialize(campaign=campaign, now=NOW) == 2
    assert one_off_materialize(campaign=campaign, now=NOW) == 0
    assert Delivery.objects.filter(campaign=campaign).count() == 2


def test_it_limits_the_audience_to_the_campaign_accounts():
    telegram, viber = ChannelAccountFactory(kind="telegram"), ChannelAccountFactory(kind="viber")
    campaign = one_off()
    campaign.accounts.set([viber])
    on_viber = subscriber(account=viber)
    subscriber(account=telegram)
    one_off_materialize(campaign=campaign, now=NOW)
    assert audience(campaign) == {on_viber.pk}


def test_it_filters_by_purchased_skus():
    campaign = one_off(skus=["soup-1", "pie-2"])
    buyer, other = subscriber(), subscriber()
    OrderItemFactory(order=OrderFactory(customer=buyer.customer, items=0), sku="pie-2")
    OrderItemFactory(order=OrderFactory(customer=other.customer, items=0), sku="cake-9")
    cancelled = subscriber()
    order = OrderFactory(customer=cancelled.customer, items=0, status="cancelled")
    OrderItemFactory(order=order, sku="soup-1")
    one_off_materialize(campaign=campaign, now=NOW)
    assert audience(campaign) == {buyer.pk}


def test_it_filters_by_days_since_last_order():
    recent, lapsed, never = subscriber(), subscriber(), subscriber()
    OrderFactory(customer=recent.customer, placed_at=NOW - dt.timedelta(days=2))
    OrderFactory(customer=lapsed.customer, placed_at=NOW - dt.timedelta(days=40))
    at_least_30 = one_off(min_days_since_last_order=30)
    at_most_7 = one_off(max_days_since_last_order=7)
    one_off_materialize(campaign=at_least_30, now=NOW)
    one_off_materialize(campaign=at_most_7, now=NOW)
    assert audience(at_least_30) == {lapsed.pk, never.pk}
    assert audience(at_most_7) == {recent.pk}


def test_it_filters_by_the_last_survey_score():
    survey = CampaignFactory(kind="triggered", category="survey", topic="surveys")
    unhappy, happy, silent = subscriber(), subscriber(), subscriber()
    old = NOW - dt.timedelta(days=30)
    for sub, scores in ((unhappy, [5, 1]), (happy, [1, 5])):
        for n, score in enumerate(scores):
            delivery = DeliveryFactory(campaign=survey, subscription=sub, occurrence=f"e{n}")
            answered = old + dt.timedelta(days=n)
            SurveyAnswer.objects.create(delivery=delivery, score=score, answered_at=answered)
    low = one_off(max_survey_score=2)
    high = one_off(min_survey_score=4)
    one_off_materialize(campaign=low, now=NOW)
    one_off_materialize(campaign=high, now=NOW)
    assert audience(low) == {unhappy.pk}
    assert audience(high) == {happy.pk}
    assert silent.pk not in audience(low) | audience(high)


def test_it_filters_by_language_including_regional_locales():
    russian = subscriber(customer=CustomerFactory(locale="ru"))
    ukrainian = subscriber(customer=CustomerFactory(locale="uk-UA"))
    subscriber(customer=CustomerFactory(locale="en"))
    subscriber(customer=CustomerFactory(locale="rus"))  # not Russian's regional form
    campaign = one_off(languages=["ru", "UK"])
    one_off_materialize(campaign=campaign, now=NOW)
    assert audience(campaign) == {russian.pk, ukrainian.pk}


def test_it_filters_by_subscribed_topics_in_sql():
    # given subscribers with different topic choices
    both = subscriber()
    menu_only = subscriber(wants_promotions=False)
    promotions_only = subscriber(wants_menu=False)
    campaign = one_off(subscribed_topics=["menu", "promotions"])
    menu = one_off(subscribed_topics=["menu"])
    # when
    one_off_materialize(campaign=campaign, now=NOW)
    one_off_materialize(campaign=menu, now=NOW)
    # then only those subscribed to every listed topic get a row
    assert audience(campaign) == {both.pk}
    assert audience(menu) == {both.pk, menu_only.pk}
    assert promotions_only.pk not in audience(menu)


def test_it_combines_filters_with_and():
    viber = ChannelAccountFactory(kind="viber")
    match = subscriber(account=viber, customer=CustomerFactory(locale="uk"))
    wrong_language = subscriber(account=viber, customer=CustomerFactory(locale="en"))
    wrong_account = subscriber(customer=CustomerFactory(locale="uk"))
    for sub in (match, wrong_language, wrong_account):
        OrderItemFactory(order=OrderFactory(customer=sub.customer, items=0), sku="soup-1")
    campaign = one_off(skus=["soup-1"], languages=["uk"])
    campaign.accounts.set([viber])
    one_off_materialize(campaign=campaign, now=NOW)
    assert audience(campaign) == {match.pk}


def _bulk_subscribers(n: int) -> None:
    account = ChannelAccountFactory(kind="telegram")
    start = Customer.objects.count()
    customers = Customer.objects.bulk_create(
        Customer(external_id=f"bulk-{start + i}") for i in range(n)
    )
    Subscription.objects.bulk_create(
        Subscription(customer=c, account=account, platform_user_id=f"bulk-{c.pk}")
        for c in customers
    )


def test_it_runs_the_same_few_queries_whatever_the_audience_size(django_assert_max_num_queries):
    # given audiences of 10 and then 500 subscribers
    _bulk_subscribers(10)
    small = one_off(skus=[], languages=["en"])
    with CaptureQueriesContext(connection) as few:
        assert one_off_materialize(campaign=small, now=NOW) == 10
    _bulk_subscribers(490)
    large = one_off(languages=["en"])
    # when / then: the same statements, not one per subscriber
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert one_off_materialize(campaign=large, now=NOW) == 500


def test_the_tick_materializes_one_offs_due_within_the_lookahead():
    subscriber()
    due = one_off(send_at=NOW + dt.timedelta(seconds=60))
    later = one_off(send_at=NOW + dt.timedelta(days=1))
    paused = one_off(status="paused")
    materialize_tick(now=NOW, refresh=False)
    due.refresh_from_db(), later.refresh_from_db()
    assert (due.status, Delivery.objects.filter(campaign=due).count()) == ("running", 1)
    assert (later.status, Delivery.objects.filter(campaign=later).count()) == ("scheduled", 0)
    assert not Delivery.objects.filter(campaign=paused).exists()


def test_it_stores_datetimes_the_orm_reads_back():
    # raw SQL must write what the ORM expects (aware UTC on PostgreSQL, naive text on SQLite)
    campaign = one_off()
    subscriber()
    before = timezone.now()
    one_off_materialize(campaign=campaign, now=before)
    row = Delivery.objects.get(campaign=campaign)
    assert row.created_at == before and row.due_at == campaign.send_at


def test_the_tick_finishes_a_one_off_once_every_delivery_is_final():
    # given a running one-off with every row final but one still deferred (quiet hours)
    campaign = one_off(status="running")
    for n, state in enumerate(("sent", "failed", "skipped", "unknown", "deferred")):
        DeliveryFactory(campaign=campaign, occurrence=f"o{n}", state=state)
    # when the tick runs, it is still running
    materialize_tick(now=NOW, refresh=False)
    campaign.refresh_from_db()
    assert campaign.status == "running"
    # when the last row is sent, the next tick finishes it
    Delivery.objects.filter(campaign=campaign, state="deferred").update(state="sent")
    materialize_tick(now=NOW, refresh=False)
    campaign.refresh_from_db()
    assert campaign.status == "finished"


@pytest.mark.parametrize("state", ["pending", "claimed", "sending", "deferred"])
def test_the_tick_leaves_a_one_off_with_an_open_delivery_running(state):
    campaign = one_off(status="running")
    DeliveryFactory(campaign=campaign, state=state)
    materialize_tick(now=NOW, refresh=False)
    campaign.refresh_from_db()
    assert campaign.status == "running"


def test_the_tick_finishes_only_materialized_one_offs():
    # given an empty audience: a launched one-off within the lookahead writes no row at all
    empty = one_off(send_at=NOW + dt.timedelta(seconds=30))
    later = one_off(send_at=NOW + dt.timedelta(days=1))
    weekly = CampaignFactory(kind="recurring", weekday=3, local_time=dt.time(10))
    paused = one_off(status="paused")
    for campaign in (weekly, paused):  # (to subscribers who left: the audience stays empty)
        DeliveryFactory(campaign=campaign, state="sent", subscription__status="unsubscribed")
    # when
    materialize_tick(now=NOW, refresh=False)
    # then the written (empty) one-off is done; the others keep their status
    statuses = {c.pk: c.status for c in Campaign.objects.all()}
    assert statuses[empty.pk] == "finished"
    assert (statuses[later.pk], statuses[weekly.pk], statuses[paused.pk]) == (
        "scheduled", "running", "paused",
    )  # fmt: skip


@pytest.mark.postgres
@pytest.mark.parametrize(("threshold", "analyzed"), [(3, True), (4, False)])
def test_a_tick_that_wrote_many_rows_refreshes_the_planner_statistics(
    settings, threshold, analyzed
):
    # Given three subscribers and a due one-off
    settings.MATERIALIZE_ANALYZE_ROWS = threshold
    for _ in range(3):
        subscriber()
    one_off()

    def last_analyzed() -> dt.datetime | None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # not the transaction's copy
            cursor.execute(
                "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'campaigns_delivery'"
            )
            return cursor.fetchone()[0]

    before = last_analyzed()

    # When the tick writes its three rows
    materialize_tick(now=NOW, refresh=False)

    # Then the delivery table was analyzed only if that reached the threshold
    assert (last_analyzed() != before) is analyzed


@pytest.mark.postgres
@pytest.mark.parametrize(("threshold", "analyzed"), [(3, True), (4, False)])
def test_a_launch_that_wrote_many_rows_refreshes_the_planner_statistics(
    settings, threshold, analyzed, django_capture_on_commit_callbacks
):
    # Given three subscribers and a draft one-off due now
    from campaigns.services import campaign_launch

    settings.MATERIALIZE_ANALYZE_ROWS = threshold
    for _ in range(3):
        subscriber()
    campaign = one_off(status="draft")

    def last_analyzed() -> dt.datetime | None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'campaigns_delivery'"
            )
            return cursor.fetchone()[0]

    before = last_analyzed()

    # When the launch writes its three rows (and commits)
    with django_capture_on_commit_callbacks(execute=True):
        _, written = campaign_launch(campaign_id=campaign.pk, now=NOW)

    # Then the table was analyzed only if that reached the threshold: a million-row launch left
    # the dispatcher planning for a few rows, and the campaign sent 64 messages in 47 s
    assert written == 3
    assert (last_analyzed() != before) is analyzed


@pytest.mark.postgres
def test_a_launch_commits_its_rows_with_their_statistics(settings):
    # Given a draft one-off to three subscribers, over the analyze threshold
    from campaigns.services import campaign_launch

    settings.MATERIALIZE_ANALYZE_ROWS = 3
    for _ in range(3):
        subscriber()
    campaign = one_off(status="draft")

    # When it is launched, before anything runs on commit
    campaign_launch(campaign_id=campaign.pk, now=NOW)

    # Then the planner's row count of the delivery table already has the rows: a dispatcher
    # woken by the next tick (before any after-commit work) plans with them
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'campaigns_delivery'")
        assert cursor.fetchone()[0] == 3


def test_a_first_pass_that_meets_a_row_after_all_writes_nothing_and_the_next_pass_finishes(
    monkeypatch,
):
    # given a one-off with one row already written, and a pass that (wrongly) believes it is
    # the first: it takes the plain INSERT without ON CONFLICT
    campaign = one_off(category="service", topic="")
    written, other = subscriber(), subscriber()
    one_off_materialize(campaign=campaign, now=NOW)
    Delivery.objects.filter(campaign=campaign, subscription=other).delete()
    monkeypatch.setattr("campaigns.materialize._has_rows", lambda *_: False)

    # when it runs, the statement fails whole: no second row for anyone
    with pytest.raises(IntegrityError), transaction.atomic():
        one_off_materialize(campaign=campaign, now=NOW)
    assert audience(campaign) == {written.pk}

    # then the next pass (which sees the row) writes just the missing one
    monkeypatch.undo()
    assert one_off_materialize(campaign=campaign, now=NOW) == 1
    assert audience(campaign) == {written.pk, other.pk}


def test_a_delivery_row_costs_no_foreign_key_check_yet_goes_with_its_subscription():
    # A million-row pass paid a query per row (and a lock of the subscription's row) for each
    # foreign key: the delivery table has none in the database.
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Delivery._meta.db_table)
    assert [name for name, c in constraints.items() if c["foreign_key"]] == []
    # The ORM still cascades: a subscription deleted (one with no consent log: those are
    # protected) takes its deliveries along, and no other's.
    campaign = one_off(category="service", topic="")
    gone, kept = subscriber(), subscriber()
    one_off_materialize(campaign=campaign, now=NOW)
    gone.delete()
    assert audience(campaign) == {kept.pk}
