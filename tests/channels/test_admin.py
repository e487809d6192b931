"""Channel accounts in admin: credentials are write-only, and the webhook secret never shows."""

import pytest
from django.contrib.admin.models import LogEntry
from django.utils import timezone

from channels.models import ChannelAccount, InboundEvent
from tests.factories import CREDENTIALS, ChannelAccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def account() -> ChannelAccount:
    return ChannelAccountFactory(kind="messenger")


def change_url(account: ChannelAccount) -> str:
    return f"/admin/channels/channelaccount/{account.pk}/change/"


def secrets_of(account: ChannelAccount) -> list[str]:
    return [*account.credentials.values(), account.webhook_secret]


def form_data(account: ChannelAccount, new_credentials: str) -> dict[str, str]:
    return {
        "kind": account.kind,
        "name": account.name,
        "api_base": "",
        "rate_limit": "",
        "enabled": "on",
        "new_credentials": new_credentials,
    }


def test_it_shows_no_credential_value_nor_the_webhook_secret(admin_client, account):
    response = admin_client.get(change_url(account))

    assert response.status_code == 200
    page = response.content.decode()
    for secret in secrets_of(account):
        assert secret not in page
    # What is stored is named, so an admin knows what is set.
    assert "app_secret, page_id, page_token, page_username, verify_token" in page


def test_it_lists_accounts_with_key_names_only(admin_client, account):
    page = admin_client.get("/admin/channels/channelaccount/").content.decode()

    assert account.name in page
    for secret in secrets_of(account):
        assert secret not in page


def test_it_replaces_only_the_keys_given_and_keeps_the_others(admin_client, account):
    response = admin_client.post(change_url(account), form_data(account, "page_token=EAAG-new\n"))

    assert response.status_code == 302
    account.refresh_from_db()
    assert account.credentials == {**CREDENTIALS["messenger"], "page_token": "EAAG-new"}


def test_it_keeps_every_credential_when_none_is_given(admin_client, account):
    before = dict(account.credentials)

    response = admin_client.post(change_url(account), form_data(account, ""))

    assert response.status_code == 302  # saved, not refused
    account.refresh_from_db()
    assert account.credentials == before


def test_it_keeps_no_credential_value_in_the_history(admin_client, account):
    admin_client.post(change_url(account), form_data(account, "page_token=EAAG-new\n"))

    [entry] = LogEntry.objects.filter(object_id=str(account.pk))
    history = admin_client.get(f"{change_url(account).removesuffix('change/')}history/")
    account.refresh_from_db()
    for secret in ["EAAG-new", *secrets_of(account)]:
        assert secret not in entry.change_message
        assert secret not in history.content.decode()


def test_it_refuses_an_unknown_key_naming_the_ones_it_takes(admin_client, account):
    response = admin_client.post(change_url(account), form_data(account, "token=x"))

    assert response.status_code == 200
    assert "unknown key(s) token" in response.content.decode()
    account.refresh_from_db()
    assert account.credentials == CREDENTIALS["messenger"]


def test_the_inbound_list_shows_what_waits_for_a_worker(admin_client, account):
    def event(event_id: str, **fields) -> None:
        InboundEvent.objects.create(
            account=account, kind="text", platform_user_id="7", event_id=event_id,
            occurred_at=timezone.now(), text=event_id, **fields,
        )  # fmt: skip

    event("waiting-one", deferred=True)
    event("handled-one", deferred=True, processed_at=timezone.now())
    event("failed-in-request")

    page = admin_client.get("/admin/channels/inboundevent/?handled=waiting").content.decode()

    assert "waiting-one" in page
    assert "handled-one" not in page and "failed-in-request" not in page
    assert "waiting for a worker" in page
