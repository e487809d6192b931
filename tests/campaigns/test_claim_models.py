"""The claim builds its models from the loaded columns without Django's constructor
(campaigns/dispatch/claim.py `_partial`): they must be the instances `from_db` would make,
with the same fields loaded and the same ones deferred."""

import pytest
from django.db.models.signals import post_init
from django.utils import timezone

from campaigns.dispatch import claim
from campaigns.models import Delivery
from subscriptions.models import Customer, Order, Subscription
from tests.factories import CustomerFactory, DeliveryFactory, OrderFactory, SubscriptionFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
OWNER = "test-owner"


def loaded(instance) -> tuple:
    """What an instance holds: its class, its loaded fields' values, the fields it defers,
    and its state (saved, in which database)."""
    fields = {k: v for k, v in instance.__dict__.items() if k != "_state"}
    state = instance._state
    return type(instance), fields, instance.get_deferred_fields(), state.adding, state.db


def claimed_models(rows: list[Delivery]) -> list[tuple]:
    models = []
    for row in rows:
        subscription = row.subscription
        for instance in (row, subscription, subscription.customer, row.order, subscription.order):
            models.append(None if instance is None else loaded(instance))
    return models


def test_claimed_rows_are_what_from_db_builds(django_assert_num_queries):
    # given due rows with and without orders of their own and of their chat's
    customer = CustomerFactory(name='Ann "A" \\ B', locale="uk", time_zone="Europe/Kyiv")
    with_orders = SubscriptionFactory(customer=customer, last_inbound_at=timezone.now())
    bare = SubscriptionFactory(order=None)
    first = DeliveryFactory(subscription=with_orders, order=OrderFactory(customer=customer))
    second = DeliveryFactory(subscription=bare, order=None)
    account = first.account
    second.account = account
    second.save()

    # when the dispatcher claims them (one statement, nothing read afterwards)
    with django_assert_num_queries(2):  # the claim and its campaigns
        rows = claim.claim(account, owner=OWNER, limit=10, now=timezone.now())
        built = claimed_models(rows)

    # then each model is what Django's from_db makes of the same columns
    spans = dict(zip((Delivery, Subscription, Customer, "order", "own"), claim._SPANS, strict=True))
    expected = []
    for row in rows:
        for model, pk, key in (
            (Delivery, row.pk, Delivery), (Subscription, row.subscription_id, Subscription),
            (Customer, row.subscription.customer_id, Customer), (Order, row.order_id, "order"),
            (Order, row.subscription.order_id, "own"),
        ):  # fmt: skip
            if pk is None:
                expected.append(None)
                continue
            _, _, names = spans[key]
            values = model.objects.filter(pk=pk).values_list(*names).get()
            expected.append(loaded(model.from_db("default", names, values)))
    assert [row.pk for row in rows] == [first.pk, second.pk]
    assert built == expected
    assert built[0][2] and "created_at" in built[0][2]  # deferred: read only when asked
    assert built[3] is not None and built[9] is None  # first's order; second has none


def test_a_listener_to_model_construction_still_hears_the_claim():
    # given a receiver of post_init (a library's, say) and a due row
    heard = []

    def receiver(sender, instance, **kwargs):
        heard.append(sender)

    row = DeliveryFactory(subscription=SubscriptionFactory(order=None), order=None)
    post_init.connect(receiver, sender=Customer)
    try:
        # when the row is claimed
        claim.claim(row.account, owner=OWNER, limit=10, now=timezone.now())
    finally:
        post_init.disconnect(receiver, sender=Customer)

    # then the claim's models were built through Django's constructor
    assert heard == [Customer]
