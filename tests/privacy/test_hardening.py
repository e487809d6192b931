"""Production hardening: check --deploy is clean with the README's settings, pages carry a CSP and
security headers, admin login is throttled, API keys are scoped and rate-limited, docs can go."""

import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from rest_framework.test import APIClient

from subscriptions.api.auth import ApiKeyRateThrottle
from subscriptions.models import ApiKey
from subscriptions.tokens import order_token_issue
from tests.factories import CampaignFactory, ChannelAccountFactory, OrderFactory

pytestmark = pytest.mark.django_db
README = Path(settings.BASE_DIR) / "README.md"


def production_settings() -> dict[str, str]:
    """The README's production settings block, placeholders filled with fresh secrets."""
    text = README.read_text()
    block = text.split("Production settings:", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    values = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
    fill = {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "PRIVACY_HASH_KEY": secrets.token_urlsafe(32),
    }
    for name, value in values.items():
        if value.startswith("<"):
            values[name] = fill[name]
    return values


def test_check_deploy_is_clean_with_the_readmes_production_settings():
    values = production_settings()
    assert values["DEBUG"] == "0" and values["SECURE_SSL_REDIRECT"] == "1"
    keep = {"PATH", "HOME", "DATABASE_URL", "REDIS_URL", "LANG", "VAR_DIR"}
    env = {name: value for name, value in os.environ.items() if name in keep} | values

    run = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR, env=env, capture_output=True, text=True,
    )  # fmt: skip

    assert run.returncode == 0, run.stdout + run.stderr
    assert "no issues" in run.stdout


# --- headers ----------------------------------------------------------------------------------
def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split("; ")}


def test_admin_answers_with_a_csp_and_security_headers(client):
    response = client.get("/admin/login/")

    csp = policy(response)
    assert csp["script-src"][0] == "'self'" and csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"] and csp["default-src"] == ["'self'"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_the_subscribe_page_may_be_framed_and_its_script_carries_the_nonce(client):
    ChannelAccountFactory(kind="telegram")
    token = order_token_issue(OrderFactory())

    response = client.get(f"/s/{token}/?embed=1")

    csp = policy(response)
    assert csp["frame-ancestors"] == ["*"] and "X-Frame-Options" not in response
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
    assert f'<script nonce="{nonce}">' in response.content.decode()


def test_the_sandbox_answers_with_a_csp(client):
    ChannelAccountFactory(kind="sandbox", name="sandbox")

    response = client.get("/sandbox/?start=&c=conv-0123456789")

    assert response.status_code == 200
    assert policy(response)["frame-ancestors"] == ["'none'"]
    assert "<script>" not in response.content.decode()  # no inline script to allow


# --- admin login ------------------------------------------------------------------------------
def login(client, password: str):
    return client.post("/admin/login/?next=/admin/", {"username": "admin", "password": password})


def test_admin_login_is_locked_after_repeated_failures(client, admin_user, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(2):
        assert login(client, "wrong").status_code == 200  # the form again, with an error

    assert login(client, "wrong").status_code == 429
    # locked even with the right password now
    assert login(client, "password").status_code == 429


def test_a_successful_login_resets_the_count(client, admin_user, settings):
    settings.AXES_FAILURE_LIMIT = 3
    login(client, "wrong")
    login(client, "wrong")
    assert login(client, "password").status_code == 302
    client.logout()

    assert login(client, "wrong").status_code == 200


# --- API keys -------------------------------------------------------------------------------
def api(scope: str) -> tuple[APIClient, ApiKey]:
    key, plain = ApiKey.issue(f"{scope}-key-{secrets.token_hex(3)}", scope)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {plain}")
    return client, key


def test_a_read_only_key_reads_campaigns_and_stats_and_nothing_else():
    client, _ = api("read")
    campaign = CampaignFactory()
    OrderFactory(external_id="A-1", customer__external_id="C-1")

    assert client.get(f"/api/v1/campaigns/{campaign.pk}/").status_code == 200
    assert client.get(f"/api/v1/campaigns/{campaign.pk}/stats/").status_code == 200
    refused = [
        client.post("/api/v1/orders/", {}, format="json"),
        client.post(f"/api/v1/campaigns/{campaign.pk}/pause/"),
        client.post("/api/v1/customers/C-1/erase/"),
        client.get("/api/v1/customers/C-1/export/"),
        client.get("/api/v1/customers/C-1/subscriptions/"),
        client.get("/api/v1/customers/C-1/consents/"),
        client.get("/api/v1/consents.csv"),
        client.get("/api/v1/orders/A-1/subscribe-links/"),
    ]
    assert [response.status_code for response in refused] == [403] * len(refused)
    assert refused[0].json()["detail"].startswith("This API key is read-only")


def test_a_write_key_does_everything():
    client, _ = api("write")
    OrderFactory(external_id="A-1", customer__external_id="C-1")

    assert client.get("/api/v1/customers/C-1/export/").status_code == 200
    assert client.get("/api/v1/orders/A-1/subscribe-links/").status_code == 200


def test_each_key_is_rate_limited_on_its_own(settings, monkeypatch):
    settings.API_KEY_RATE = "3/m"
    # One moment for all: four requests must not straddle the edge of a fixed window.
    monkeypatch.setattr(ApiKeyRateThrottle, "timer", staticmethod(lambda: 1_800_000_010.0))
    busy, _ = api("write")
    other, _ = api("write")
    campaign = CampaignFactory()

    answers = [busy.get(f"/api/v1/campaigns/{campaign.pk}/").status_code for _ in range(4)]

    assert answers == [200, 200, 200, 429]
    limited = busy.get(f"/api/v1/campaigns/{campaign.pk}/")
    assert int(limited["Retry-After"]) > 0
    assert other.get(f"/api/v1/campaigns/{campaign.pk}/").status_code == 200


# --- docs -------------------------------------------------------------------------------------
def test_api_docs_can_be_turned_off(client, settings):
    assert client.get("/api/docs/").status_code == 200
    assert "<script>" not in client.get("/api/docs/").content.decode()  # CSP: files only

    settings.API_DOCS_ENABLED = False

    assert client.get("/api/docs/").status_code == 404
    assert client.get("/api/schema/").status_code == 404


def test_concurrent_requests_of_one_key_are_all_counted(settings):
    """Six threads at once, 30 requests, a rate of 20: exactly 20 pass (the cache's atomic
    increment; a read-then-write count lets concurrent requests through uncounted)."""
    from concurrent.futures import ThreadPoolExecutor
    from types import SimpleNamespace

    from subscriptions.api.auth import ApiKeyRateThrottle
    from subscriptions.models import ApiKey

    settings.API_KEY_RATE = "20/m"
    key = ApiKey(prefix=f"concurrent{time.time_ns()}")
    request = SimpleNamespace(auth=key)

    def call(_: int) -> bool:
        return ApiKeyRateThrottle().allow_request(request, None)

    with ThreadPoolExecutor(6) as pool:
        passed = sum(pool.map(call, range(30)))

    assert passed == 20
