from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from campaigns.models import LinkClick
from campaigns.tracking import _serializer, tracked_link
from tests.factories import (
    CampaignFactory,
    ChannelAccountFactory,
    DeliveryFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivery():
    account = ChannelAccountFactory(kind="viber")
    campaign = CampaignFactory(name="Weekly menu")
    return DeliveryFactory(campaign=campaign, subscription=SubscriptionFactory(account=account))


def path_of(url: str) -> str:
    return urlsplit(url).path


def test_it_builds_a_public_link_to_the_redirect_view(settings, delivery):
    link = tracked_link(delivery_id=delivery.pk, url="https://shop.example/menu")
    assert link.startswith(f"{settings.PUBLIC_BASE_URL}/r/")
    signed = link.rsplit("/", 1)[1]
    assert path_of(link) == reverse("campaigns:link", args=[signed])
    assert "https://shop.example" not in link  # the target travels signed, encoded


def test_a_click_is_recorded_and_redirected_with_utm_tags(client, delivery):
    # given a link to a page that already has a query string
    link = tracked_link(delivery_id=delivery.pk, url="https://shop.example/menu?week=48")
    # when the customer opens it
    response = client.get(path_of(link))
    # then
    assert response.status_code == 302
    target = urlsplit(response["Location"])
    assert (target.scheme, target.netloc, target.path) == ("https", "shop.example", "/menu")
    assert parse_qs(target.query) == {
        "week": ["48"],
        "utm_source": ["comeback"],
        "utm_medium": ["viber"],
        "utm_campaign": [f"weekly-menu-{delivery.campaign_id}"],
    }
    click = LinkClick.objects.get()
    assert (click.delivery, click.url) == (delivery, "https://shop.example/menu?week=48")
    delivery.refresh_from_db()
    assert delivery.clicked_at == click.clicked_at


def test_the_first_click_stays_the_deliverys_clicked_at(client, delivery):
    link = path_of(tracked_link(delivery_id=delivery.pk, url="https://shop.example/"))
    client.get(link)
    delivery.refresh_from_db()
    first = delivery.clicked_at
    client.get(link)
    delivery.refresh_from_db()
    assert delivery.clicked_at == first and LinkClick.objects.count() == 2


def test_the_marketers_own_utm_tags_are_kept(client, delivery):
    url = "https://shop.example/?utm_campaign=black-friday"
    response = client.get(path_of(tracked_link(delivery_id=delivery.pk, url=url)))
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["utm_campaign"] == ["black-friday"] and query["utm_source"] == ["comeback"]


def test_a_tampered_link_is_a_friendly_404(client, delivery):
    link = path_of(tracked_link(delivery_id=delivery.pk, url="https://shop.example/"))
    forged = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    response = client.get(forged)
    assert response.status_code == 404
    assert "link doesn" in response.text and "Go to the shop" in response.text
    assert not LinkClick.objects.exists()


def test_a_signed_non_http_target_is_refused(client, delivery):
    signed = _serializer().dumps([delivery.pk, "javascript:alert(1)"])
    assert client.get(f"/r/{signed}").status_code == 404


def test_a_messengers_link_preview_fetch_is_not_a_click(client, delivery):
    link = path_of(tracked_link(delivery_id=delivery.pk, url="https://shop.example/"))
    response = client.get(link, headers={"user-agent": "TelegramBot (like TwitterBot)"})
    assert response.status_code == 302
    assert not LinkClick.objects.exists()
