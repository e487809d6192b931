"""Admin's customer actions: export everything held as JSON, erase after a confirmation."""

import json
from pathlib import Path

import pytest
from django.conf import settings

from subscriptions.models import ConsentEvent, Customer, ErasureLog
from tests.browser import browser_page_fixture  # noqa: F401 - registers `browser_page`
from tests.factories import CustomerFactory, OrderFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/subscriptions/customer/"


@pytest.fixture
def customer():
    customer = CustomerFactory(external_id="C-77", name="Zebediah", email="zeb@example.org")
    order = OrderFactory(customer=customer, external_id="A-1")
    subscription = SubscriptionFactory(customer=customer, order=order)
    ConsentEvent.objects.create(
        customer=customer, subscription=subscription, kind="opt_in", source="deep_link"
    )
    return customer


def action(admin_client, name: str, customer: Customer, **extra: str):
    data = {"action": name, "_selected_action": [str(customer.pk)], **extra}
    return admin_client.post(CHANGELIST, data)


def test_the_export_action_downloads_everything_held(admin_client, customer):
    response = action(admin_client, "export_json", customer)

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="customer-export.json"'
    document = json.loads(response.content)
    assert document["customer"]["name"] == "Zebediah"
    assert [order["external_id"] for order in document["orders"]] == ["A-1"]
    assert [event["kind"] for event in document["consent_history"]] == ["opt_in"]


def test_the_erase_action_asks_first(admin_client, customer):
    response = action(admin_client, "erase", customer)

    assert response.status_code == 200
    assert b"cannot be undone" in response.content and b"C-77" in response.content
    customer.refresh_from_db()
    assert customer.erased_at is None and not ErasureLog.objects.exists()


def test_the_erase_action_erases_once_confirmed(admin_client, admin_user, customer):
    response = action(admin_client, "erase", customer, confirmed="yes")

    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.erased_at is not None and customer.name == ""
    assert ErasureLog.objects.get().requested_by == f"admin:{admin_user.username}"
    assert admin_client.get("/admin/subscriptions/erasurelog/").status_code == 200


def test_admin_offers_no_delete_of_a_customer(admin_client, customer):
    assert admin_client.get(f"{CHANGELIST}{customer.pk}/delete/").status_code == 403


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_marketer_erases_a_customer_in_admin(browser_page, live_server, admin_user, customer):
    artifacts = Path(settings.BASE_DIR) / "var" / "artifacts" / "test_admin_erase"
    artifacts.mkdir(parents=True, exist_ok=True)
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server.url}/admin/login/?next={CHANGELIST}")
    page.fill("#id_username", admin_user.username)
    page.fill("#id_password", "password")
    page.click("input[type=submit]")
    page.check(f"input[name=_selected_action][value='{customer.pk}']")
    page.select_option("select[name=action]", "erase")
    page.click("button[name=index]")
    page.wait_for_selector("text=cannot be undone")
    page.screenshot(path=str(artifacts / "1-confirm.png"), full_page=True)

    page.click("input[value^='Yes, erase']")
    page.wait_for_selector("text=Erased 1 customer(s).")
    page.screenshot(path=str(artifacts / "2-erased.png"), full_page=True)

    assert Customer.objects.get(pk=customer.pk).erased_at is not None
