import re

import pytest

from subscriptions.models import ApiKey, ConsentEvent
from tests.factories import OrderEventFactory, OrderFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def records():
    order = OrderFactory(external_id="A-1001")
    event = OrderEventFactory(order=order)
    subscription = SubscriptionFactory(customer=order.customer, order=order)
    consent = ConsentEvent.objects.create(
        customer=order.customer, subscription=subscription, kind="opt_in", source="deep_link"
    )
    api_key, plain = ApiKey.issue("shop")
    return {
        "customer": order.customer,
        "order": order,
        "orderevent": event,
        "subscription": subscription,
        "consentevent": consent,
        "apikey": api_key,
        "plain": plain,
    }


@pytest.mark.parametrize(
    "model", ["customer", "order", "orderevent", "subscription", "consentevent", "apikey"]
)
def test_it_loads_the_list_and_the_record_page(admin_client, records, model):
    listing = admin_client.get(f"/admin/subscriptions/{model}/")
    record = admin_client.get(f"/admin/subscriptions/{model}/{records[model].pk}/change/")

    assert listing.status_code == 200
    assert record.status_code == 200


def test_it_searches_customers_by_email_and_phone(admin_client, records):
    customer = records["customer"]

    found = admin_client.get("/admin/subscriptions/customer/", {"q": customer.email})
    missed = admin_client.get("/admin/subscriptions/customer/", {"q": "nobody@nowhere"})

    assert customer.external_id in found.content.decode()
    assert customer.external_id not in missed.content.decode()


def test_it_shows_the_orders_inline_on_the_customer(admin_client, records):
    page = admin_client.get(f"/admin/subscriptions/customer/{records['customer'].pk}/change/")

    assert "A-1001" in page.content.decode()


def test_it_never_offers_to_add_change_or_delete_consent_events(admin_client, records):
    pk = records["consentevent"].pk

    add = admin_client.get("/admin/subscriptions/consentevent/add/")
    delete = admin_client.get(f"/admin/subscriptions/consentevent/{pk}/delete/")
    change = admin_client.post(f"/admin/subscriptions/consentevent/{pk}/change/", {"kind": "x"})

    assert add.status_code == 403 and delete.status_code == 403
    assert change.status_code == 403
    assert ConsentEvent.objects.get(pk=pk).kind == "opt_in"


def test_it_exports_selected_consent_events_as_csv(admin_client, records):
    response = admin_client.post(
        "/admin/subscriptions/consentevent/",
        {"action": "export_csv", "_selected_action": [records["consentevent"].pk]},
    )

    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    assert text.splitlines()[0].startswith("occurred_at,customer_external_id,channel")
    assert records["customer"].external_id in text and "deep_link" in text


def test_it_never_shows_an_api_key_or_its_hash(admin_client, records):
    api_key = records["apikey"]

    pages = [
        admin_client.get("/admin/subscriptions/apikey/").content.decode(),
        admin_client.get(f"/admin/subscriptions/apikey/{api_key.pk}/change/").content.decode(),
    ]

    for html in pages:
        assert api_key.key_hash not in html
        assert records["plain"] not in html
        assert api_key.prefix in html


def test_it_shows_a_new_key_once_and_stores_only_its_hash(admin_client, db):
    # when the key is added, and the page it leads to shown
    response = admin_client.post(
        "/admin/subscriptions/apikey/add/", {"name": "checkout", "scope": "write"}, follow=True
    )

    # then the message carries the key, which was stored as a hash only
    shown = [str(m) for m in response.context["messages"]]
    [message] = [m for m in shown if "checkout" in m and "not be shown again" in m]
    key = re.search(r"checkout: (\S+)", message).group(1)
    assert key in response.content.decode()
    stored = ApiKey.objects.get(name="checkout")
    assert stored.key_hash == ApiKey.hash(key)
    # and no later page shows it again
    later = admin_client.get(f"/admin/subscriptions/apikey/{stored.pk}/change/").content.decode()
    assert key not in later


def test_it_revokes_selected_keys(admin_client, records):
    response = admin_client.post(
        "/admin/subscriptions/apikey/",
        {"action": "revoke", "_selected_action": [records["apikey"].pk]},
    )

    assert response.status_code == 302
    assert ApiKey.objects.get(pk=records["apikey"].pk).revoked is True


def test_it_adds_a_read_only_key(admin_client, db):
    admin_client.post("/admin/subscriptions/apikey/add/", {"name": "stats", "scope": "read"})

    assert ApiKey.objects.get(name="stats").scope == "read"
