"""GET /api/v1/stats/: the programme's figures over the API, the same as the dashboard's."""

import datetime as dt

import pytest
from django.utils import timezone

from campaigns.programme import programme_stats
from subscriptions.models import ApiKey
from tests.factories import CampaignFactory, ChannelAccountFactory, DeliveryFactory, OrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def get(client):
    _, key = ApiKey.issue("shop")

    def call(path: str):
        return client.get(f"/api/v1{path}", headers={"Authorization": f"Api-Key {key}"})

    return call


def test_it_answers_the_programme_figures_of_the_period(get, settings):
    settings.GLOBAL_HOLDOUT_PERCENT = 50.0
    now = timezone.now()
    viber = ChannelAccountFactory(kind="viber")
    for days_ago in (2, 2, 40):  # the last one is outside a 30-day period
        row = DeliveryFactory(
            campaign=CampaignFactory(), account=viber, state="sent",
            due_at=now - dt.timedelta(days=days_ago), sent_at=now - dt.timedelta(days=days_ago),
            delivered_at=now - dt.timedelta(days=days_ago),
        )  # fmt: skip
        OrderFactory(customer=row.subscription.customer, currency="PLN")

    response = get("/stats/")

    assert response.status_code == 200
    body = response.json()
    assert body["days"] == 30
    assert body["campaigns"] == 2
    assert body["channels"]["viber"]["sent"] == body["channels"]["viber"]["delivered"] == 2
    assert body["global_holdout"]["percent"] == 50.0
    assert set(body) >= {"survey", "attributed_by_currency", "holdout", "per_day"}
    assert get("/stats/?days=60").json()["campaigns"] == 3


def test_it_is_the_dashboards_figures(get):
    DeliveryFactory(state="sent", sent_at=timezone.now())

    body = get("/stats/?days=7").json()

    expected = programme_stats(days=7)
    assert {k: v for k, v in body.items() if k not in {"since", "funnel", "computed_at"}} == {
        k: v for k, v in expected.items() if k != "since"
    }
    assert body["funnel"]["days"] == 7 and "by_source" in body["funnel"]


@pytest.mark.parametrize("days", ["0", "367", "x"])
def test_it_refuses_a_bad_period(get, days):
    response = get(f"/stats/?days={days}")

    assert response.status_code == 400
    assert "days" in response.json()


def test_it_needs_a_key(client):
    assert client.get("/api/v1/stats/").status_code == 401


def test_it_is_documented_with_an_example(client, settings):
    settings.API_DOCS_ENABLED = True
    schema = client.get("/api/schema/", headers={"Accept": "application/json"}).json()

    operation = schema["paths"]["/api/v1/stats/"]["get"]

    assert operation["operationId"] == "stats_programme"
    content = operation["responses"]["200"]["content"]["application/json"]
    [example] = content["examples"].values()
    assert example["value"]["global_holdout"]["percent"] == 5.0
    assert [p["name"] for p in operation["parameters"]] == ["days"]
