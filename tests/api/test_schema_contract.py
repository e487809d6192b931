"""The schema is the contract: Schemathesis generates requests from /api/schema/ for every
operation and every answer must be no server error and match the schema it documents.

Configuration: schemathesis.toml at the project root (examples per operation).
"""

from collections.abc import Iterator

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from campaigns.models import LinkClick, SurveyAnswer
from config.wsgi import application
from subscriptions.models import ConsentEvent
from tests.factories import (
    CampaignFactory,
    ChannelAccountFactory,
    DeliveryFactory,
    OrderFactory,
    SubscriptionFactory,
)

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]


@pytest.fixture
def records() -> None:
    """What the ids in schemathesis.toml's dictionaries name: a customer with an order, a chat,
    consents, a delivery with an answer and a click; a draft and a running campaign."""
    account = ChannelAccountFactory(kind="telegram")
    order = OrderFactory(external_id="A-1001", customer__external_id="C-77")
    subscription = SubscriptionFactory(customer=order.customer, order=order, account=account)
    ConsentEvent.objects.create(
        customer=order.customer, subscription=subscription, kind="opt_in", source="deep_link"
    )
    draft = CampaignFactory(pk=1001)
    CampaignFactory(pk=1002, kind="one_off", status="running", send_at=timezone.now())
    delivery = DeliveryFactory(campaign=draft, subscription=subscription, account=account,
                               state="skipped", reason="quiet_hours")  # fmt: skip
    SurveyAnswer.objects.create(delivery=delivery, score=3, comment="ok")
    LinkClick.objects.create(delivery=delivery, url="https://shop.example/")


@pytest.fixture
def auth(settings, api_key, records) -> Iterator[dict[str, str]]:
    settings.API_KEY_RATE = "1000000/s"  # generated requests come faster than any shop's
    # The WSGI handler closes the database connection after each request, which would end the
    # test's transaction; Django's own test client holds these signals off the same way.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield {"Authorization": f"Api-Key {api_key[1]}"}
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
# The key and settings are meant to be shared by every generated request.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_every_answer_matches_the_schema(case, auth):
    case.call_and_validate(headers=auth, checks=CHECKS)
