"""A delivery's message: the campaign's content for its channel, personalized."""

import pytest

from campaigns.content import TIMES, NoContent, delivery_message, uses_items
from campaigns.tracking import link_target
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

MENU = {
    "text": "Hi {name}! Your order {order}: {items}. Next week: {link}",
    "image_url": "https://cdn.example/menu-{name}.jpg",
    "buttons": [
        {"text": "Order for {name}", "url": "https://shop.example/menu"},
        {"text": "Shop", "url": "{link}"},
    ],
    "quick_replies": [{"text": "5", "payload": "survey:{delivery}:5"}],
    "cards": [
        {
            "title": "Fit for {name}",
            "subtitle": "Order {order}",
            "image_url": "https://cdn.example/fit.jpg",
            "buttons": [{"text": "Rate", "payload": "survey:{delivery}:4"}],
        }
    ],
}


def _delivery(content: dict, *, name: str = "Anna", kind: str = "telegram", **campaign):
    customer = CustomerFactory(name=name)
    order = OrderFactory(customer=customer, items=0)
    OrderItemFactory(order=order, name="Fit 5 days", quantity=2)
    OrderItemFactory(order=order, name="Soup", quantity=1)
    subscription = SubscriptionFactory(
        customer=customer, order=order, account=ChannelAccountFactory(kind=kind)
    )
    campaign = CampaignFactory(content=content, link_url="https://shop.example/next", **campaign)
    return DeliveryFactory(campaign=campaign, subscription=subscription)


def test_it_fills_every_placeholder():
    delivery = _delivery({"default": MENU})

    message = delivery_message(delivery)

    head, link = message.text.split("Next week: ")
    order = delivery.subscription.order.external_id
    assert head == f"Hi Anna! Your order {order}: 2 {TIMES} Fit 5 days, 1 {TIMES} Soup. "
    assert link_target(link.rsplit("/", 1)[1]) == (delivery.pk, "https://shop.example/next")
    assert message.quick_replies[0].payload == f"survey:{delivery.pk}:5"
    card = message.cards[0]
    assert (card.title, card.subtitle) == ("Fit for Anna", f"Order {order}")
    assert card.buttons[0].payload == f"survey:{delivery.pk}:4"


def test_it_tracks_url_buttons_and_leaves_image_urls_alone():
    delivery = _delivery({"default": MENU})

    message = delivery_message(delivery)

    order, shop = message.buttons
    assert order.text == "Order for Anna"
    assert link_target(order.url.rsplit("/", 1)[1]) == (delivery.pk, "https://shop.example/menu")
    assert link_target(shop.url.rsplit("/", 1)[1]) == (delivery.pk, "https://shop.example/next")
    assert message.image_url == MENU["image_url"]
    assert message.cards[0].image_url == "https://cdn.example/fit.jpg"


def test_it_greets_a_customer_without_a_name_neutrally():
    delivery = _delivery({"default": {"text": "Hello {name}"}}, name="")

    assert delivery_message(delivery).text == "Hello there"


@pytest.mark.parametrize(
    "text", ["{unknown} stays", "{0} and {} and {a.b}", "unbalanced { brace", "{{name}}", "}{"]
)
def test_it_leaves_what_it_does_not_know_literally(text):
    delivery = _delivery({"default": {"text": text}})

    filled = delivery_message(delivery).text

    assert filled == text.replace("{name}", "Anna")


def test_it_prefers_the_channels_own_content_over_the_default():
    content = {"default": {"text": "default"}, "vk": {"text": "for VK, {name}"}}

    on_vk = delivery_message(_delivery(content, kind="vk"))
    on_viber = delivery_message(_delivery(content, kind="viber"))

    assert (on_vk.text, on_viber.text) == ("for VK, Anna", "default")


def test_it_refuses_a_campaign_without_content_for_the_channel():
    delivery = _delivery({"vk": {"text": "only VK"}}, kind="telegram")

    with pytest.raises(NoContent):
        delivery_message(delivery)


@pytest.mark.parametrize(
    ("params", "kind", "loads"),
    [
        (["{name}", "{items}"], "whatsapp", True),  # the template names the items
        (["{name}", "{items}"], "telegram", False),  # only WhatsApp sends the template
        (["{name}"], "whatsapp", False),
    ],
)
def test_items_are_loaded_when_a_whatsapp_templates_parameters_name_them(params, kind, loads):
    campaign = CampaignFactory(
        content={"default": {"text": "Hi {name}"}}, whatsapp_template_params=params
    )

    assert uses_items(campaign, kind) is loads


def test_a_template_value_that_is_not_a_text_names_its_field():
    # the admin saves the JSON as typed: a number or an empty entry is refused there
    from campaigns.models import Campaign
    from campaigns.services import campaign_errors

    errors = campaign_errors(
        Campaign(name="x", kind="one_off", whatsapp_template_params=["{name}", 3],
                 whatsapp_template_buttons=["survey:1", ""])
    )  # fmt: skip

    assert {"whatsapp_template_params", "whatsapp_template_buttons"} <= set(errors)
