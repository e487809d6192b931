"""Links without an order from the API: a known customer's and a campaign's."""

import pytest

from subscriptions.models import LinkVisit
from tests.factories import ChannelAccountFactory, CustomerFactory
from tests.subscriptions.api_support import api_fixture, api_key_fixture  # noqa: F401

pytestmark = pytest.mark.django_db


def test_it_gives_a_known_customer_a_signed_link_that_opens_their_page(api, client, settings):
    ChannelAccountFactory(kind="telegram")
    customer = CustomerFactory(external_id="C/7")

    body = api.get("/api/v1/customers/C/7/subscribe-link/?source=email_footer").json()

    assert body["source"] == "email_footer"
    page = client.get(body["url"].removeprefix(settings.PUBLIC_BASE_URL) + "?utm_medium=email")
    assert page.status_code == 200
    visit = LinkVisit.objects.get()
    assert (visit.source, visit.customer, visit.utm) == (
        "email_footer", customer, {"utm_medium": "email"}
    )  # fmt: skip


def test_it_refuses_an_order_source_for_a_customer_link(api):
    CustomerFactory(external_id="C-8")

    response = api.get("/api/v1/customers/C-8/subscribe-link/?source=hosted_page")

    assert response.status_code == 400 and "source" in response.json()


def test_it_makes_a_campaign_link_for_a_printed_qr_code(api, client, settings):
    ChannelAccountFactory(kind="telegram")

    response = api.post(
        "/api/v1/subscribe-links/", {"source": "qr_scan", "name": "box-insert"}, format="json"
    )

    assert response.status_code == 200
    client.get(response.json()["url"].removeprefix(settings.PUBLIC_BASE_URL))
    visit = LinkVisit.objects.get()
    assert (visit.source, visit.name, visit.customer, visit.order) == (
        "qr_scan", "box-insert", None, None
    )  # fmt: skip
