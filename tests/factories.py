"""factory-boy factories for every model, in one place."""

from decimal import Decimal

import factory
from django.utils import timezone

from channels.models import ChannelAccount
from subscriptions.models import Customer, Order, OrderEvent, OrderItem, Subscription

CREDENTIALS = {
    "telegram": {"token": "123456:TEST-token", "username": "comeback_test_bot"},
    "messenger": {
        "page_id": "1000001",
        "page_token": "EAAG-page-token",
        "app_secret": "meta-app-secret",
        "verify_token": "meta-verify-token",
        "page_username": "comebackshop",
    },
    "viber": {
        "auth_token": "445da6az1s345z78-dazcczb2542zv51a-e0vc5fva17480im9",
        "uri": "comeback",
    },
    "vk": {
        "group_id": "200001",
        "token": "vk1.a.community-token",
        "secret": "vk-callback-secret",
        "confirmation": "a1b2c3d4",
        "screen_name": "comebackshop",
    },
    "whatsapp": {
        "phone_number_id": "106540352242922",
        "token": "EAAG-wa-token",
        "app_secret": "wa-app-secret",
        "verify_token": "wa-verify-token",
        "phone": "15550001234",
    },
    "email": {"from_email": "menu@shop.example", "reply_to": "care@shop.example"},
    "sms": {
        "gateway": "twilio",
        "account_sid": "AC00000000000000000000000000000001",
        "auth_token": "twilio-auth-token",
        "from": "+15550009999",
    },
    "sandbox": {},
}


class ChannelAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChannelAccount
        django_get_or_create = ("name",)

    kind = "telegram"
    name = factory.LazyAttribute(lambda o: f"shop-{o.kind}")
    credentials = factory.LazyAttribute(lambda o: dict(CREDENTIALS[o.kind]))
    enabled = True


# --- subscriptions ------------------------------------------------------------------------------


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    external_id = factory.Sequence(lambda n: f"cust-{n}")
    name = factory.Faker("name")
    email = factory.LazyAttribute(lambda o: f"{o.external_id}@example.com")
    locale = "en"
    time_zone = "UTC"


class OrderItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderItem

    order = factory.SubFactory("tests.factories.OrderFactory", items=0)
    sku = factory.Sequence(lambda n: f"sku-{n}")
    name = factory.Sequence(lambda n: f"Meal set {n}")
    quantity = 1
    price = Decimal("12.50")


class OrderFactory(factory.django.DjangoModelFactory):
    """An order with `items` line items (default 2): `OrderFactory(items=0)` for none."""

    class Meta:
        model = Order
        skip_postgeneration_save = True

    external_id = factory.Sequence(lambda n: f"order-{n}")
    customer = factory.SubFactory(CustomerFactory)
    total = Decimal("25.00")
    currency = "EUR"
    status = Order.Status.CREATED
    placed_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def items(obj, create: bool, extracted: int | None, **kwargs) -> None:
        if not create:
            return
        for _ in range(2 if extracted is None else extracted):
            OrderItemFactory(order=obj, **kwargs)


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscription

    customer = factory.SubFactory(CustomerFactory)
    account = factory.SubFactory(ChannelAccountFactory)
    platform_user_id = factory.Sequence(lambda n: str(700000 + n))
    status = Subscription.Status.ACTIVE
    order = factory.SubFactory(OrderFactory, customer=factory.SelfAttribute("..customer"))
    source = "deep_link"


class OrderEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderEvent

    event_id = factory.Sequence(lambda n: f"evt-{n}")
    type = OrderEvent.Type.DELIVERED
    order = factory.SubFactory(OrderFactory)
    occurred_at = factory.LazyFunction(timezone.now)
    data = factory.LazyFunction(dict)


# --- campaigns ----------------------------------------------------------------------------------


class CampaignFactory(factory.django.DjangoModelFactory):
    """A running marketing campaign with plain text content; pass category/topic to change."""

    class Meta:
        model = "campaigns.Campaign"

    name = factory.Sequence(lambda n: f"Campaign {n}")
    kind = "one_off"
    category = "marketing"
    topic = factory.LazyAttribute(lambda o: "" if o.category == "service" else "menu")
    status = "running"
    content = factory.LazyFunction(lambda: {"default": {"text": "Hello {name}"}})


class DeliveryFactory(factory.django.DjangoModelFactory):
    """A due delivery; its account is the subscription's, its priority the campaign's."""

    class Meta:
        model = "campaigns.Delivery"

    campaign = factory.SubFactory(CampaignFactory)
    occurrence = "once"
    subscription = factory.SubFactory(SubscriptionFactory)
    account = factory.SelfAttribute("subscription.account")
    priority = factory.LazyAttribute(lambda o: o.campaign.priority)
    due_at = factory.LazyFunction(timezone.now)
