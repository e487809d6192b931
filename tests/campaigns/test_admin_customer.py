"""The customer page: chats and topics, consent history, deliveries with reasons in words,
survey answers, clicks and attributed orders on one screen."""

import pytest
from django.utils import timezone

from campaigns.models import Attribution, LinkClick, SurveyAnswer
from subscriptions.models import ConsentEvent
from tests.factories import CustomerFactory, DeliveryFactory, OrderFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


def test_one_screen_shows_everything_about_the_customer(admin_client):
    customer = CustomerFactory(name="Olena", locale="uk-UA")
    subscription = SubscriptionFactory(customer=customer, wants_promotions=False)
    ConsentEvent.objects.create(
        customer=customer, subscription=subscription, kind="opt_in", source="deep_link"
    )
    sent = DeliveryFactory(subscription=subscription, state="sent", sent_at=timezone.now())
    DeliveryFactory(subscription=subscription, state="skipped", reason="holdout")
    SurveyAnswer.objects.create(delivery=sent, score=4, comment="tasty soup")
    LinkClick.objects.create(delivery=sent, url="https://shop.example/menu")
    order = OrderFactory(customer=customer, external_id="ORD-9")
    Attribution.objects.create(order=order, delivery=sent, via="click")

    deliveries = admin_client.get("/admin/campaigns/delivery/").text
    url = f"/admin/campaigns/delivery/customer/{customer.pk}/"
    assert f'href="{url}"' in deliveries  # the list links the customer by name

    page = admin_client.get(url).text
    for shown in ("Olena", "topics: menu, surveys", "Opt In", "held out to measure",
                  "score 4", "tasty soup", "https://shop.example/menu", "order ORD-9"):  # fmt: skip
        assert shown in page.replace("&#x27;", "'"), shown


def test_an_unknown_customer_is_a_404(admin_client):
    assert admin_client.get("/admin/campaigns/delivery/customer/999999/").status_code == 404
