"""Erasing a person: nothing that names them is left in any table, the consent log still proves
their opt-in by a keyed hash, campaign figures stay, and the same chat may start afresh."""

import datetime as dt
import itertools
import json
from typing import Any

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from campaigns.models import Delivery, LinkClick, SurveyAnswer
from campaigns.stats import campaign_stats
from campaigns.tracking import tracked_link
from channels.models import InboundEvent, SandboxMessage
from subscriptions.models import ConsentEvent, Customer, ErasureLog, Subscription
from subscriptions.privacy.consent_lookup import consent_at
from subscriptions.privacy.erasure import customer_erase
from tests.factories import CampaignFactory, ChannelAccountFactory, DeliveryFactory
from tests.subscriptions.api_support import api_fixture, api_key_fixture, order_body  # noqa: F401
from tests.subscriptions.hooks import post_hook, sender, start_webhook

pytestmark = pytest.mark.django_db

NAME = "Zebediah Quillfeather"
EMAIL = "zeb.quill@example.org"
PHONE = "+44 7700 900123"
WA_ID = "447700900123"  # WhatsApp's chat id is the phone number
TELEGRAM_ID = "918273645"
CONVERSATION = "zebconversation01"
CHATS = {"telegram": TELEGRAM_ID, "whatsapp": WA_ID, "sandbox": CONVERSATION}
UPDATE_IDS = itertools.count(800000001)
NEEDLES = [NAME, "Zebediah", "Quillfeather", EMAIL, PHONE, WA_ID, TELEGRAM_ID, CONVERSATION]


def customer_order(api, order: str) -> dict[str, Any]:
    customer = {"external_id": "C-77", "name": NAME, "email": EMAIL, "phone": PHONE,
                "locale": "en", "time_zone": "Europe/London"}  # fmt: skip
    response = api.post(
        "/api/v1/orders/", order_body(external_id=order, customer=customer), format="json"
    )
    assert response.status_code in (200, 201), response.content
    return response.json()


def start(client, account, links: dict[str, str]) -> None:
    """The customer opens the order's link on `account` and the platform posts the start."""
    body = start_webhook(account.kind, links[account.name])
    text = json.dumps(body).replace(sender(account.kind, body), CHATS[account.kind])
    body = json.loads(text)
    if account.kind == "whatsapp":
        body["entry"][0]["changes"][0]["value"]["contacts"][0]["profile"]["name"] = NAME
    if account.kind == "telegram":
        body["message"]["from"]["first_name"] = "Zebediah"
        body["update_id"] = next(UPDATE_IDS)  # each start is a new update
    assert post_hook(client, account, body).status_code == 200


def leftovers() -> dict[str, list[str]]:
    """Every text and JSON column of every table that holds any of the person's details."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema()"
            " AND data_type IN ('text', 'character varying', 'json', 'jsonb')"
        )
        columns = cursor.fetchall()
        assert len(columns) > 50  # the scan really looks at the schema
        patterns = [f"%{needle}%" for needle in NEEDLES]
        found: dict[str, list[str]] = {}
        for table, column in columns:
            cursor.execute(
                f'SELECT "{column}"::text FROM "{table}" WHERE "{column}"::text ILIKE ANY(%s)',  # noqa: S608
                [patterns],
            )
            values = [row[0] for row in cursor.fetchall()]
            if values:
                found[f"{table}.{column}"] = values
    return found


@pytest.fixture
def accounts():
    return [
        ChannelAccountFactory(kind="telegram", name="shop-telegram"),
        ChannelAccountFactory(kind="whatsapp", name="shop-whatsapp"),
        ChannelAccountFactory(kind="sandbox", name="sandbox"),
    ]


@pytest.fixture
def person(api, client, accounts, admin_user):
    """A customer subscribed on three platforms, with messages, answers, clicks and history."""
    offer = customer_order(api, "A-1001")
    for account in accounts:
        start(client, account, offer["subscribe_links"])
    customer = Customer.objects.get(external_id="C-77")
    subscriptions = list(customer.subscriptions.select_related("account").order_by("pk"))
    assert [s.account.kind for s in subscriptions] == ["telegram", "whatsapp", "sandbox"]
    event = {"event_id": "evt-1", "type": "order.delivered", "order_external_id": "A-1001",
             "occurred_at": "2026-11-21T12:00:00+03:00", "data": {"recipient": NAME}}  # fmt: skip
    assert api.post("/api/v1/events/", event, format="json").status_code == 201
    # a chat message naming them, on Telegram
    body = json.loads(json.dumps(start_webhook("telegram", "https://t.me/x?start=y")))
    body = json.loads(json.dumps(body).replace(sender("telegram", body), TELEGRAM_ID))
    body["update_id"] += 1
    body["message"]["text"] = f"Hi, this is {NAME}, write to {EMAIL}"
    assert post_hook(client, accounts[0], body).status_code == 200
    # a campaign they got, answered and clicked on every channel
    campaign = CampaignFactory(kind="one_off", status="running", category="survey")
    sent_at = timezone.now() - dt.timedelta(hours=1)
    for subscription in subscriptions:
        delivery = DeliveryFactory(
            campaign=campaign, subscription=subscription, account=subscription.account,
            state="sent", sent_at=sent_at, read_at=sent_at, clicked_at=sent_at,
            answered_at=sent_at, provider_message_id=f"wamid.{WA_ID}.{subscription.pk}",
        )  # fmt: skip
        SurveyAnswer.objects.create(
            delivery=delivery, score=2, comment=f"{NAME} says: too salty, call {PHONE}"
        )
        url = tracked_link(delivery_id=delivery.pk, url=f"https://shop.example/?ref={EMAIL}")
        assert client.get(url.removeprefix("https://comeback.test")).status_code == 302
    # one more, still to be sent
    pending = DeliveryFactory(
        campaign=CampaignFactory(kind="one_off", status="running"),
        subscription=subscriptions[0], account=subscriptions[0].account, state="pending",
    )  # fmt: skip
    # and a marketer once edited them in admin
    LogEntry.objects.create(
        user=admin_user, content_type=ContentType.objects.get_for_model(Customer),
        object_id=str(customer.pk), object_repr=str(customer), action_flag=CHANGE,
        change_message=json.dumps([{"changed": {"fields": ["Name"]}}]),
    )  # fmt: skip
    return customer, campaign, pending


def test_nothing_names_the_person_after_erasure(api, person):
    _, campaign, pending = person
    # given every kind of their data is there
    before = leftovers()
    assert {
        "subscriptions_customer.name", "subscriptions_customer.email",
        "subscriptions_subscription.platform_user_id", "channels_inboundevent.raw",
        "channels_sandboxmessage.conversation", "campaigns_surveyanswer.comment",
        "campaigns_linkclick.url", "campaigns_delivery.provider_message_id",
        "subscriptions_orderevent.data", "django_admin_log.object_repr",
    } <= set(before)  # fmt: skip
    stats = campaign_stats(campaign)
    subscribed_at = timezone.now()

    # when the shop asks to erase them
    response = api.post("/api/v1/customers/C-77/erase/")

    # then no text or JSON column of any table holds their name, e-mail, phone or chat ids
    assert response.status_code == 200, response.content
    assert leftovers() == {}
    # and the figures of the campaign they got are as they were
    assert campaign_stats(campaign) == stats
    assert Delivery.objects.filter(campaign=campaign).count() == 3
    assert SurveyAnswer.objects.filter(delivery__campaign=campaign, score=2).count() == 3
    # and what could not be sent yet will not be
    pending.refresh_from_db()
    assert (pending.state, pending.reason) == ("skipped", "erased")
    # and the erasure is logged, with what it removed
    log = ErasureLog.objects.get()
    assert log.requested_by == "api:shop"
    assert log.removed["subscriptions"] == 3 and log.removed["link_clicks"] == 3
    assert response.json()["removed"] == log.removed
    assert not LinkClick.objects.exists() and not SandboxMessage.objects.exists()
    assert not InboundEvent.objects.filter(kind__in=["start", "text"]).exists()
    # and the consent log still proves the opt-in, found by the identifiers they give
    for identifier in (f"phone:{PHONE}", f"email:{EMAIL}", "customer:C-77",
                       f"chat:telegram:{TELEGRAM_ID}", f"chat:whatsapp:{WA_ID}"):  # fmt: skip
        chats = consent_at(identifier=identifier, at=subscribed_at)
        assert any(chat.subscribed for chat in chats), identifier
    chats = consent_at(identifier=f"phone:{PHONE}", at=subscribed_at)
    assert {chat.channel for chat in chats} == {"shop-telegram", "shop-whatsapp", "sandbox"}
    assert all(chat.events[0].kind == "opt_in" for chat in chats)
    # and ends with the erasure's opt-out
    after = consent_at(identifier=f"phone:{PHONE}", at=timezone.now())
    assert not any(chat.subscribed for chat in after)
    assert {chat.events[-1].source for chat in after} == {"erased"}
    assert consent_at(identifier="phone:+44 7700 900999", at=timezone.now()) == []


def test_the_consent_log_rows_are_only_added_to(person):
    customer, _, _ = person
    rows = list(ConsentEvent.objects.order_by("pk").values())

    customer_erase(customer=customer, requested_by="test")

    after = list(ConsentEvent.objects.order_by("pk").values())
    assert after[: len(rows)] == rows
    assert {row["kind"] for row in after[len(rows) :]} == {"opt_out"}


def test_erasing_twice_changes_nothing(api, person):
    customer, _, _ = person
    first = api.post("/api/v1/customers/C-77/erase/").json()
    customer.refresh_from_db()
    snapshot = Customer.objects.values().get(pk=customer.pk)

    again = api.post("/api/v1/customers/C-77/erase/")
    call_command("erase_customer", "C-77")
    customer_erase(customer=customer, requested_by="test")

    assert again.status_code == 200 and again.json() == first
    assert ErasureLog.objects.count() == 1
    assert Customer.objects.values().get(pk=customer.pk) == snapshot


def test_a_new_start_from_the_same_chat_makes_a_new_customer(api, client, accounts, person):
    customer, _, _ = person
    old_links = customer_order(api, "A-1001-again")["subscribe_links"]  # issued before erasure
    customer_erase(customer=customer, requested_by="test")

    # an old link of theirs links nothing to what is left of them
    start(client, accounts[0], old_links)
    assert not Subscription.objects.filter(platform_user_id=TELEGRAM_ID).exists()

    # the shop's next order for the same person, and a Start from the same Telegram chat
    links = customer_order(api, "A-2002")["subscribe_links"]
    start(client, accounts[0], links)

    fresh = Subscription.objects.select_related("customer").get(platform_user_id=TELEGRAM_ID)
    assert fresh.customer.pk != customer.pk
    assert fresh.customer.external_id == "C-77" and fresh.customer.name == NAME
    assert fresh.is_active


def test_erase_answers_404_for_an_unknown_customer(api):
    assert api.post("/api/v1/customers/NOPE/erase/").status_code == 404


def test_erase_needs_an_api_key(client):
    assert client.post("/api/v1/customers/C-77/erase/").status_code == 401


def test_the_command_erases_and_prints_the_log(person, capsys):
    call_command("erase_customer", "C-77", "--by", "dpo")

    printed = json.loads(capsys.readouterr().out)
    assert printed["requested_by"] == "command:dpo"
    assert Customer.objects.get(pk=person[0].pk).erased_at is not None


def test_the_consent_lookup_command_answers_for_an_erased_person(person, capsys):
    moment = timezone.now().isoformat()
    customer_erase(customer=person[0], requested_by="test")

    call_command("consent_lookup", f"email:{EMAIL.upper()}", "--at", moment)

    answer = json.loads(capsys.readouterr().out)
    assert answer["subscribed"] is True and len(answer["chats"]) == 3


def test_a_row_queued_for_its_pacing_slot_is_cancelled_and_never_marked_sending(person):
    # given a row a dispatcher holds, waiting for its slot, under a live lease
    from campaigns.dispatch.claim import mark_sending
    from campaigns.dispatch.lease import Lease

    customer, _, pending = person
    Lease(pending.account_id, "run-1").acquire()
    Delivery.objects.filter(pk=pending.pk).update(state="queued", claimed_by="run-1")

    # when the person is erased
    customer_erase(customer=customer, requested_by="test")

    # then the row is cancelled, and the dispatcher's mark finds nothing left to send
    pending.refresh_from_db()
    assert (pending.state, pending.reason) == ("skipped", "erased")
    marked = mark_sending(
        [pending.pk], account_id=pending.account_id, owner="run-1", now=timezone.now()
    )
    assert marked == set()
