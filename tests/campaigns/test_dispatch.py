"""The dispatcher end to end in this process: real PostgreSQL, the fake platform over HTTP.

No timed assertions: where the behaviour is about time (a 429 pause, per-chat spacing) the
assertion reads the order and spacing of the fake server's own arrival timestamps.
"""

import re
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from campaigns.dispatch import run_account
from campaigns.models import Delivery, DispatchLease
from channels.fake_platform import FakePlatform
from channels.models import ChannelAccount
from subscriptions.models import ConsentEvent, Subscription
from tests.factories import CREDENTIALS, CampaignFactory, DeliveryFactory, SubscriptionFactory
from tests.workers import wait_for

pytestmark = pytest.mark.django_db(transaction=True)
# Queries that read rows a delivery refers to, or a deferred field of one delivery (claims and
# flushes repeat with timing; these must not repeat per row); the frequency cap's are SQL over
# the batch's customers (campaigns/cap_counts.py).
READS = re.compile(
    r'"subscriptions_\w+"\.|SELECT "(campaigns_campaign|channels_channelaccount)"\.'
    r'|"campaigns_delivery"\."id" = |customer_id = ANY\('
)
FINAL = ("sent", "failed", "skipped", "unknown")
TELEGRAM_429 = {
    "ok": False,
    "error_code": 429,
    "description": "Too Many Requests: retry after 2",
    "parameters": {"retry_after": 2},
}


# --- helpers shared with test_dispatch_workers.py --------------------------------------------


def make_deliveries(
    account: ChannelAccount, n: int, *, category: str = "marketing", **fields
) -> list[Delivery]:
    """`n` due deliveries to `n` customers; each message's text is "d:<delivery id>"."""
    campaign = CampaignFactory(
        category=category, content={"default": {"text": "d:{delivery}"}}, respect_quiet_hours=False
    )
    return [
        DeliveryFactory(
            campaign=campaign,
            subscription=SubscriptionFactory(account=account, order=None),
            **fields,
        )
        for _ in range(n)
    ]


def delivered_ids(fake: FakePlatform, platform: str) -> Counter[int]:
    """How many times the platform accepted each delivery's message (a dedupe is no message)."""
    counts: Counter[int] = Counter()
    for request in fake.requests_for(platform):
        body = request.json if isinstance(request.json, dict) else request.form or {}
        text = str(body.get("text") or body.get("message") or "")
        if request.answered == 200 and not request.deduplicated and text.startswith("d:"):
            counts[int(text[2:])] += 1
    return counts


def states(account: ChannelAccount) -> Counter[str]:
    return Counter(Delivery.objects.filter(account=account).values_list("state", flat=True))


def dispatch_until_settled(account: ChannelAccount, timeout: float = 60, **options) -> None:
    """Run the dispatcher until every delivery of the account is in a final state."""

    def settled() -> bool:
        run_account(account.pk, **options)
        return not Delivery.objects.filter(account=account).exclude(state__in=FINAL).exists()

    wait_for(settled, timeout=timeout)


# --- sending ----------------------------------------------------------------------------------


def test_it_sends_due_deliveries_and_records_the_provider_message_id(account_on, fake_platform):
    # given five due deliveries and one due tomorrow
    account = account_on("telegram")
    due = make_deliveries(account, 5)
    [later] = make_deliveries(account, 1, due_at=timezone.now() + timedelta(days=1))

    run_account(account.pk)

    # then the five went out once each and are recorded with the platform's message id
    assert delivered_ids(fake_platform, "telegram") == Counter({d.pk: 1 for d in due})
    for delivery in Delivery.objects.filter(pk__in=[d.pk for d in due]):
        assert (delivery.state, delivery.provider_message_id) == ("sent", "1")  # 1st in chat
        assert delivery.sent_at is not None and delivery.attempts == 1
    assert Delivery.objects.get(pk=later.pk).state == "pending"
    assert DispatchLease.objects.get(account=account).owner == ""  # released at the end


@pytest.mark.parametrize("curl_loop", [True, False], ids=["curl loop", "a thread per send"])
def test_it_keeps_as_many_sends_on_the_wire_as_it_may_and_no_more(
    account_on, fake_platform, settings, curl_loop
):
    # given six deliveries, three sends at a time, and a platform that holds every answer 1 s
    settings.DISPATCH_CURL_LOOP = curl_loop
    account = account_on("telegram")
    make_deliveries(account, 6)
    fake_platform.slow(1.0)

    run_account(account.pk, threads=3)

    # then the first three were on the wire together, before any answer came back, and the
    # fourth left only once an answer had
    arrived = sorted(request.received_at for request in fake_platform.requests_for("telegram"))
    assert len(arrived) == 6
    assert arrived[2] - arrived[0] < 0.95 <= arrived[3] - arrived[0]
    assert states(account) == Counter(sent=6)


def test_a_failure_of_the_send_loop_leaves_no_send_waiting(
    account_on, fake_platform, monkeypatch, caplog
):
    # given a delivery, and a send loop that fails once a request is handed to it, before a
    # byte of it is written
    from channels.curl_loop import CurlLoop

    account = account_on("telegram")
    [delivery] = make_deliveries(account, 1)
    step, failed = CurlLoop.step, []

    def failing_step(loop, timeout):
        if loop._parked and not failed:
            failed.append(True)
            raise RuntimeError("broken")
        step(loop, timeout)

    monkeypatch.setattr(CurlLoop, "step", failing_step)

    # when the account is dispatched
    run_account(account.pk)

    # then the run ended with the row back to due (its request never left), said why, and
    # the next run sends it once
    assert failed and "the send loop failed" in caplog.text
    assert Delivery.objects.get(pk=delivery.pk).state == "pending"
    assert not fake_platform.requests_for("telegram")
    Delivery.objects.filter(pk=delivery.pk).update(due_at=timezone.now())
    run_account(account.pk)
    assert delivered_ids(fake_platform, "telegram") == Counter({delivery.pk: 1})


def test_a_run_waits_a_moment_for_work_and_sends_what_falls_due_meanwhile(
    account_on, fake_platform, settings
):
    # given a run that may wait for work, and a delivery due a moment after it starts
    settings.DISPATCH_IDLE_SECONDS = 3.0
    account = account_on("telegram")
    [soon] = make_deliveries(account, 1, due_at=timezone.now() + timedelta(seconds=0.5))

    stats = run_account(account.pk)

    # then the same run sent it (no second run, no wake-up), then ended for want of work
    assert stats.states == {"sent": 1}
    assert stats.stopped == "nothing due"
    assert delivered_ids(fake_platform, "telegram") == Counter({soon.pk: 1})


def test_it_records_policy_skips_without_sending(account_on, fake_platform):
    account = account_on("telegram")
    [keep, gone] = make_deliveries(account, 2)
    Subscription.objects.filter(pk=gone.subscription_id).update(status="unsubscribed")

    run_account(account.pk)

    assert delivered_ids(fake_platform, "telegram") == Counter({keep.pk: 1})
    skipped = Delivery.objects.get(pk=gone.pk)
    assert (skipped.state, skipped.reason) == ("skipped", "subscription unsubscribed")


def test_it_sends_nothing_of_a_paused_campaign(account_on, fake_platform):
    account = account_on("telegram")
    [delivery] = make_deliveries(account, 1)
    delivery.campaign.status = "paused"
    delivery.campaign.save()

    run_account(account.pk)

    assert fake_platform.requests_for("telegram") == []
    assert Delivery.objects.get(pk=delivery.pk).state == "pending"


def test_it_sends_service_messages_before_marketing_on_the_same_account(account_on, fake_platform):
    # given marketing due first and service messages due a minute later
    account = account_on("telegram")
    earlier = timezone.now() - timedelta(minutes=2)
    marketing = make_deliveries(account, 4, due_at=earlier)
    service = make_deliveries(account, 4, category="service", due_at=earlier + timedelta(minutes=1))

    run_account(account.pk, threads=1)  # one sender: arrival order is send order

    arrived = [int(r.json["text"][2:]) for r in fake_platform.requests_for("telegram")]
    assert arrived[:4] == [d.pk for d in service]
    assert sorted(arrived[4:]) == [d.pk for d in marketing]


def test_it_spaces_messages_to_the_same_chat(account_on, fake_platform):
    # given two campaigns for the same Telegram chat (at most one message a second per chat)
    account = account_on("telegram")
    [first] = make_deliveries(account, 1)
    campaign = CampaignFactory(content=first.campaign.content, respect_quiet_hours=False)
    second = DeliveryFactory(subscription=first.subscription, campaign=campaign)

    dispatch_until_settled(account)

    a, b = fake_platform.requests_for("telegram")
    assert delivered_ids(fake_platform, "telegram") == Counter({first.pk: 1, second.pk: 1})
    assert b.received_at - a.received_at >= 1.0


def test_it_spaces_messages_to_the_same_chat_across_runs(account_on, fake_platform):
    # given a chat that one run has just sent a message to
    account = account_on("telegram")
    [first] = make_deliveries(account, 1)
    run_account(account.pk)
    [a] = fake_platform.requests_for("telegram")
    # and a second message due to it at once, for the next run
    campaign = CampaignFactory(content=first.campaign.content, respect_quiet_hours=False)
    second = DeliveryFactory(subscription=first.subscription, campaign=campaign)

    # when the next runs send it
    dispatch_until_settled(account)

    # then it still arrived a second or more after the first (the spacing read the database)
    [b] = fake_platform.requests_for("telegram")[1:]
    assert delivered_ids(fake_platform, "telegram") == Counter({first.pk: 1, second.pk: 1})
    assert b.received_at - a.received_at >= 1.0


# --- failures ---------------------------------------------------------------------------------


def test_it_stops_every_send_on_the_account_for_the_retry_after_of_a_429(account_on, fake_platform):
    # given a Telegram 429 "retry after 2" for one of twenty sends
    account = account_on("telegram")
    deliveries = make_deliveries(account, 20)
    fake_platform.error("telegram", TELEGRAM_429, 429)

    dispatch_until_settled(account)

    # then no request reached the platform within 2 s after the 429 ...
    requests = fake_platform.requests_for("telegram")
    [limited] = [r for r in requests if r.answered == 429]
    after = [r.received_at for r in requests if r.received_at > limited.received_at]
    assert after and min(after) - limited.received_at >= 2.0
    # ... and every delivery went out exactly once in the end
    assert delivered_ids(fake_platform, "telegram") == Counter({d.pk: 1 for d in deliveries})
    assert states(account) == Counter({"sent": 20})
    assert ChannelAccount.objects.get(pk=account.pk).paused_until is not None


def test_it_waits_out_a_pause_another_sender_put_on_the_account(account_on, fake_platform):
    # given the account paused by a 429 that a reply met (ChannelAccount.paused_until)
    account = account_on("telegram")
    deliveries = make_deliveries(account, 3)
    until = ChannelAccount.objects.filter(pk=account.pk).pause(1.5)

    dispatch_until_settled(account)

    # then nothing reached the platform before the pause had passed
    requests = fake_platform.requests_for("telegram")
    assert min(r.received_at for r in requests) >= until.timestamp()
    assert delivered_ids(fake_platform, "telegram") == Counter({d.pk: 1 for d in deliveries})


def test_it_backs_off_after_server_errors_and_then_succeeds(account_on, fake_platform, settings):
    settings.DISPATCH_BACKOFF_SECONDS = 0.05
    account = account_on("telegram")
    deliveries = make_deliveries(account, 6)
    fake_platform.fail(502, count=3)

    dispatch_until_settled(account)

    assert states(account) == Counter({"sent": 6})
    assert delivered_ids(fake_platform, "telegram") == Counter({d.pk: 1 for d in deliveries})
    attempts = Counter(Delivery.objects.filter(account=account).values_list("attempts", flat=True))
    assert attempts == Counter({1: 3, 2: 3})  # the three that met a 502 went twice


def test_it_gives_up_after_the_last_attempt(account_on, fake_platform, settings):
    settings.DISPATCH_BACKOFF_SECONDS = 0.01
    settings.DISPATCH_MAX_ATTEMPTS = 3
    account = account_on("telegram")
    [delivery] = make_deliveries(account, 1)
    fake_platform.fail(503)  # until reset

    dispatch_until_settled(account)

    failed = Delivery.objects.get(pk=delivery.pk)
    assert failed.state == "failed"
    assert failed.reason.startswith("gave up after 3 attempts")
    assert len(fake_platform.requests_for("telegram")) == 3


def test_it_fails_a_blocked_recipient_and_marks_the_subscription_blocked(account_on, fake_platform):
    account = account_on("telegram")
    [ok, blocked] = make_deliveries(account, 2)
    fake_platform.block(blocked.subscription.platform_user_id)

    run_account(account.pk)

    failed = Delivery.objects.get(pk=blocked.pk)
    assert failed.state == "failed" and "blocked" in failed.reason
    assert Subscription.objects.get(pk=blocked.subscription_id).status == "blocked"
    assert ConsentEvent.objects.filter(subscription_id=blocked.subscription_id, kind="blocked")
    assert Delivery.objects.get(pk=ok.pk).state == "sent"


def test_it_stops_a_misconfigured_account_without_burning_attempts(account_on, fake_platform):
    # given a bot token the platform refuses (the fake refuses tokens starting with "bad")
    account = account_on("telegram", credentials={**CREDENTIALS["telegram"], "token": "bad:1"})
    make_deliveries(account, 5)

    stats = run_account(account.pk, threads=1)

    assert stats.stopped == "configuration error"
    assert len(fake_platform.requests_for("telegram")) == 1
    assert states(account) == Counter({"pending": 5})
    assert set(Delivery.objects.filter(account=account).values_list("attempts", flat=True)) == {0}
    assert ChannelAccount.objects.get(pk=account.pk).paused_until > timezone.now()


def test_it_marks_a_maybe_sent_request_unknown_and_never_resends_it(account_on, fake_platform):
    # given an answer that may mean "sent" (200 without Telegram's {"ok": true})
    account = account_on("telegram")
    [delivery] = make_deliveries(account, 1)
    fake_platform.error("telegram", {"mangled": True}, 200)

    dispatch_until_settled(account)

    unknown = Delivery.objects.get(pk=delivery.pk)
    assert unknown.state == "unknown" and "unreadable answer" in unknown.reason
    assert len(fake_platform.requests_for("telegram")) == 1


# --- two dispatchers --------------------------------------------------------------------------


# The SQLite test database is in memory with a shared cache, whose table locks ignore the busy
# timeout: concurrent writers there fail instead of waiting (a file database waits).
@pytest.mark.postgres
def test_it_never_sends_a_delivery_twice_with_two_dispatchers_on_one_account(
    account_on, fake_platform
):
    # given a hundred deliveries and two dispatchers started together, twice over
    account = account_on("telegram", rate_limit=200)
    deliveries = make_deliveries(account, 100)

    def dispatch() -> None:
        try:
            run_account(account.pk)
        finally:
            connection.close()

    for _ in range(2):
        threads = [threading.Thread(target=dispatch) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert delivered_ids(fake_platform, "telegram") == Counter({d.pk: 1 for d in deliveries})
    assert states(account) == Counter({"sent": 100})


@pytest.mark.postgres  # SQLite records outcomes one statement per row, by design
@pytest.mark.parametrize(("kind", "reads"), [("one_off", 5), ("recurring", 6)])
def test_it_costs_no_query_per_row(account_on, fake_platform, kind, reads):
    # no per-row query (a deferred field read, a lazy relation) hides in policies or content:
    # every policy runs (quiet hours outside their window; for a weekly menu, the check for
    # orders since last week's) and every placeholder is used
    from django.test.utils import CaptureQueriesContext

    from campaigns.schedule import week_key

    now = timezone.now()
    later = (now + timedelta(hours=6)).time()
    content = {"default": {"text": "{name} {order} {items} {link} d:{delivery}"}}
    weekly = {"weekday": now.weekday(), "local_time": now.time()} if kind == "recurring" else {}
    occurrence = week_key(now.date()) if kind == "recurring" else "once"

    def dispatch(n: int) -> int:
        account = account_on("telegram", name=f"n{n}", rate_limit=10_000)
        campaign = CampaignFactory(
            kind=kind, content=content, quiet_hours_start=later, quiet_hours_end=later,
            holdout_percent=1, **weekly,
        )  # fmt: skip
        for _ in range(n):
            # (ordered a month ago: before last week's menu, so the menu still goes)
            subscription = SubscriptionFactory(
                account=account, order__placed_at=now - timedelta(days=30)
            )
            DeliveryFactory(campaign=campaign, subscription=subscription, occurrence=occurrence)
        with CaptureQueriesContext(connection) as captured:
            run_account(account.pk, threads=64)
        assert states(account)["pending"] == 0
        assert states(account)["sent"] > 0
        return sum(bool(READS.search(q["sql"])) for q in captured.captured_queries)

    # the account, the batch's campaigns, its order items, the frequency cap (and for a weekly
    # menu its customers' recent orders); the batch itself comes back from the claim
    # statement (campaigns/dispatch/claim.py), whichever its size
    assert dispatch(50) == dispatch(5) == reads


# --- receipts ---------------------------------------------------------------------------------


def test_it_counts_the_newest_message_read_by_a_messenger_watermark(account_on, fake_platform):
    # given a Messenger customer inside the 24 h window and a platform slow to answer, so the
    # answer comes back well after the message was stamped at the platform
    from channels.inbound import inbound_event_process
    from channels.models import InboundEvent

    account = account_on("messenger")
    [delivery] = make_deliveries(account, 1)
    Subscription.objects.filter(pk=delivery.subscription_id).update(last_inbound_at=timezone.now())
    fake_platform.slow(0.5, count=1)
    run_account(account.pk)
    [request] = fake_platform.requests_for("messenger")

    # when Messenger reports "read up to" the moment the platform took the message (the
    # newest one to this person)
    watermark = datetime.fromtimestamp(request.received_at, tz=UTC)
    event = InboundEvent.objects.create(
        account=account, kind="read", platform_user_id=delivery.subscription.platform_user_id,
        event_id="read-1", occurred_at=watermark, watermark=watermark,
    )  # fmt: skip
    inbound_event_process(event=event)

    # then it counts as read: sent_at is when the request left, not when the answer came back
    sent = Delivery.objects.get(pk=delivery.pk)
    assert sent.state == "sent" and sent.sent_at <= watermark
    assert sent.read_at == watermark


def test_a_survey_outside_the_whatsapp_window_goes_as_its_template_and_is_answered(
    account_on, fake_platform, client
):
    # given a survey due to a WhatsApp customer who last wrote days ago, with an approved
    # template whose body names the customer and whose quick replies are the scores
    from campaigns.models import SurveyAnswer
    from tests.channels.webhooks import deliver_signed, fixture

    account = account_on("whatsapp")
    campaign = CampaignFactory(
        kind="triggered", category="survey", respect_quiet_hours=False,
        content={"default": {"text": "How was it, {name}?", "buttons": [
            {"text": str(n), "payload": f"survey:{{delivery}}:{n}"} for n in (5, 1)
        ]}},
        whatsapp_template="order_survey", whatsapp_template_params=["{name}"],
        whatsapp_template_buttons=["survey:{delivery}:5", "survey:{delivery}:1"],
    )  # fmt: skip
    subscription = SubscriptionFactory(
        account=account, platform_user_id="16505551234", customer__name="Sheena",
        last_inbound_at=timezone.now() - timedelta(days=3),
    )  # fmt: skip
    delivery = DeliveryFactory(campaign=campaign, subscription=subscription)

    # when it is dispatched
    run_account(account.pk)

    # then the platform got the template, personalized, with the survey's payloads
    [request] = fake_platform.requests_for("whatsapp")
    components = request.json["template"]["components"]
    assert request.json["template"]["name"] == "order_survey"
    assert components[0] == {"type": "body", "parameters": [{"type": "text", "text": "Sheena"}]}
    payloads = [c["parameters"][0]["payload"] for c in components[1:]]
    assert payloads == [f"survey:{delivery.pk}:5", f"survey:{delivery.pk}:1"]
    assert Delivery.objects.get(pk=delivery.pk).state == "sent"

    # and when the customer presses the first quick reply, it is the survey's answer
    press = fixture("whatsapp", "template_button")
    message = press["entry"][0]["changes"][0]["value"]["messages"][0]
    message["button"] = {"payload": payloads[0], "text": "5"}
    assert deliver_signed(client, account, press).status_code == 200
    assert SurveyAnswer.objects.get(delivery=delivery).score == 5
