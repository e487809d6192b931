"""Shared by the API tests: an authenticated client and the documented example bodies.

Use in a test module:  from tests.subscriptions.api_support import api_fixture, api_key_fixture
(noqa F401) and take `api` / `api_key` as arguments.
"""

import copy

import pytest
from rest_framework.test import APIClient

from subscriptions.models import ApiKey

ORDER = {
    "external_id": "A-1001",
    "customer": {
        "external_id": "C-77",
        "name": "Ivan",
        "email": "ivan@example.com",
        "phone": "+79990001122",
        "locale": "ru",
        "time_zone": "Europe/Moscow",
    },
    "items": [{"sku": "FIT-5", "name": "Fit 5 days", "quantity": 1, "price": "4990.00"}],
    "total": "4990.00",
    "currency": "RUB",
    "status": "created",
    "created_at": "2026-11-20T10:00:00+03:00",
}
EVENT = {
    "event_id": "evt-1",
    "type": "order.delivered",
    "order_external_id": "A-1001",
    "occurred_at": "2026-11-21T12:00:00+03:00",
    "data": {"courier": "Pyotr", "slot": [10, 12]},
}


def order_body(**changes) -> dict:
    return copy.deepcopy(ORDER) | changes


def event_body(**changes) -> dict:
    return copy.deepcopy(EVENT) | changes


@pytest.fixture(name="api_key")
def api_key_fixture(db) -> tuple[ApiKey, str]:
    """An API key row and its plain key."""
    return ApiKey.issue("shop")


@pytest.fixture(name="api")
def api_fixture(api_key) -> APIClient:
    """A DRF test client sending a valid `Authorization: Api-Key ...` header."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key[1]}")
    return client
