import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from subscriptions.api.auth import KEY_CACHE_SECONDS, forget_keys
from subscriptions.models import ApiKey
from tests.factories import CustomerFactory
from tests.subscriptions.api_support import api_fixture, api_key_fixture  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db
URL = "/api/v1/customers/C-1/subscriptions/"


@pytest.fixture
def customer():
    return CustomerFactory(external_id="C-1")


def _get(header: str | None):
    client = APIClient()
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)
    return client.get(URL)


def test_it_accepts_a_valid_key(api_key, customer):
    response = _get(f"Api-Key {api_key[1]}")

    assert response.status_code == 200


def test_it_accepts_the_scheme_in_any_case(api_key, customer):
    assert _get(f"api-key {api_key[1]}").status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Api-Key",
        "Api-Key ",
        "Bearer abc",
        "Api-Key not-a-real-key-at-all",
        "Api-Key \u0000\u0000",
    ],
)
def test_it_answers_401_with_a_challenge(customer, header):
    response = _get(header)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Api-Key"
    assert "detail" in response.json()


def test_it_answers_401_for_a_known_prefix_with_the_wrong_rest(api_key, customer):
    _, key = api_key
    forged = key[: ApiKey.PREFIX_LENGTH] + "x" * (len(key) - ApiKey.PREFIX_LENGTH)

    response = _get(f"Api-Key {forged}")

    assert response.status_code == 401


def test_it_answers_401_for_a_revoked_key(api_key, customer):
    row, key = api_key
    ApiKey.objects.filter(pk=row.pk).update(revoked=True)

    response = _get(f"Api-Key {key}")

    assert response.status_code == 401
    assert response.json()["detail"] == "API key revoked."


def test_it_records_last_use_at_most_once_a_minute(api_key, customer):
    row, key = api_key

    # when: first use, then a second use a moment later
    _get(f"Api-Key {key}")
    first = ApiKey.objects.get(pk=row.pk).last_used_at
    _get(f"Api-Key {key}")
    second = ApiKey.objects.get(pk=row.pk).last_used_at

    # then the second use did not write; a use after a stale stamp does
    assert first is not None and second == first
    stale = timezone.now() - timedelta(minutes=2)
    ApiKey.objects.filter(pk=row.pk).update(last_used_at=stale)
    forget_keys()  # as KEY_CACHE_SECONDS passing would: the stamp is read again
    _get(f"Api-Key {key}")
    assert ApiKey.objects.get(pk=row.pk).last_used_at > stale


def test_a_key_revoked_elsewhere_stops_within_the_cache_time(api_key, customer, monkeypatch):
    # given a key this process has just used
    row, key = api_key
    assert _get(f"Api-Key {key}").status_code == 200
    clock = [time.monotonic()]
    monkeypatch.setattr("config.recent_rows.time.monotonic", lambda: clock[0])

    # when another process revokes it (a plain UPDATE: no signal reaches this one)
    ApiKey.objects.filter(pk=row.pk).update(revoked=True)

    # then it works here until KEY_CACHE_SECONDS have passed, and not after
    assert _get(f"Api-Key {key}").status_code == 200
    clock[0] += KEY_CACHE_SECONDS
    assert _get(f"Api-Key {key}").status_code == 401


def test_it_leaves_healthz_and_the_schema_open():
    assert APIClient().get("/api/schema/").status_code == 200
    assert APIClient().get("/healthz").status_code in (200, 503)


def test_it_prints_a_key_that_authenticates(customer):
    # given
    out, err = StringIO(), StringIO()

    # when
    call_command("create_api_key", "checkout", stdout=out, stderr=err)

    # then stdout is the key alone, stored only as a hash
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    key = lines[0]
    stored = ApiKey.objects.get(name="checkout")
    assert stored.key_hash == ApiKey.hash(key) and key not in stored.key_hash
    assert key not in err.getvalue()
    assert _get(f"Api-Key {key}").status_code == 200


def test_it_refuses_a_second_key_of_the_same_name(api_key):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="exists"):
        call_command("create_api_key", "shop", stdout=StringIO(), stderr=StringIO())


def test_the_command_creates_a_read_only_key_when_asked():
    call_command(
        "create_api_key", "dashboard", "--scope", "read", stdout=StringIO(), stderr=StringIO()
    )

    assert ApiKey.objects.get(name="dashboard").scope == ApiKey.Scope.READ
