"""The consent log is append-only: rows are added, never changed or removed, by any path."""

import pytest
from django.db.models import ProtectedError

from subscriptions.models import AppendOnly, ConsentEvent, Customer, Subscription
from subscriptions.services import subscription_stop
from tests.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged() -> Subscription:
    """A subscription (no order) with an opt-out in the consent log."""
    subscription = SubscriptionFactory(order=None)
    subscription_stop(subscription=subscription, source="keyword", evidence="stop")
    return subscription


def snapshot() -> list[tuple]:
    return list(ConsentEvent.objects.values_list("id", "kind", "source", "evidence", "customer"))


@pytest.mark.parametrize(
    "change",
    [
        lambda events: events.update(kind="opt_in"),
        lambda events: events.filter(kind="opt_out").update(evidence=""),
        lambda events: events.delete(),
        lambda events: events.filter(kind="opt_out").delete(),
        lambda events: ConsentEvent.objects.bulk_update(list(events), ["kind"]),
        lambda events: events.first().delete(),
        lambda events: events.first().save(),
    ],
    ids=["update", "filtered-update", "delete", "filtered-delete", "bulk-update",
         "instance-delete", "instance-save"],
)  # fmt: skip
def test_it_refuses_to_change_or_remove_consent_events(logged, change):
    # given a consent log
    before = snapshot()
    # when anything tries to rewrite it, then it is refused and the log is as it was
    with pytest.raises(AppendOnly):
        change(ConsentEvent.objects.all())
    assert snapshot() == before != []


def test_it_refuses_to_delete_a_customer_whose_consent_is_logged(logged):
    # Deleting the customer would cascade to the log: it must be refused, not done silently.
    before = snapshot()
    with pytest.raises(ProtectedError) as refused:
        Customer.objects.get(pk=logged.customer_id).delete()
    assert set(refused.value.protected_objects) == set(ConsentEvent.objects.all())
    assert Customer.objects.filter(pk=logged.customer_id).exists()
    assert snapshot() == before


def test_it_refuses_to_delete_a_subscription_whose_consent_is_logged(logged):
    # The log's channel and platform user come from the subscription: it stays too.
    with pytest.raises(ProtectedError):
        logged.delete()
    assert ConsentEvent.objects.get().subscription == logged


def test_it_still_deletes_a_customer_who_never_consented_to_anything():
    subscription = SubscriptionFactory(order=None)
    subscription.customer.delete()
    assert not Subscription.objects.exists()


def test_it_appends_new_events(logged):
    ConsentEvent.objects.create(customer=logged.customer, kind="opt_in", source="api")
    ConsentEvent.objects.bulk_create(
        [ConsentEvent(customer=logged.customer, kind="opt_out", source="api")]
    )
    assert list(ConsentEvent.objects.values_list("kind", flat=True)) == [
        "opt_out",
        "opt_in",
        "opt_out",
    ]
