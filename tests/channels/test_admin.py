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


@pytest.mark.parametrize(
    "handled, shown",
    [
        ("waiting", {"waiting-one", "failing-one"}),
        ("failing", {"failing-one"}),
        ("yes", {"handled-one"}),
        ("no", {"waiting-one", "failing-one", "failed-in-request"}),
        (None, {"waiting-one", "failing-one", "handled-one", "failed-in-request"}),
    ],
)
def test_the_inbound_list_filters_by_handling(admin_client, account, handled, shown, settings):
    settings.TIME_ZONE = "UTC"
    again = timezone.now().replace(year=2030, month=1, day=2, hour=9, minute=41)  # not today
    for event_id, fields in [
        ("waiting-one", {"deferred": True}),
        ("failing-one", {"deferred": True, "attempts": 3, "retry_at": again}),
        ("handled-one", {"deferred": True, "processed_at": timezone.now()}),
        ("failed-in-request", {}),
    ]:
        InboundEvent.objects.create(
            account=account, kind="text", platform_user_id="7", event_id=event_id,
            occurred_at=timezone.now(), text=event_id, **fields,
        )  # fmt: skip

    query = f"?handled={handled}" if handled else ""
    page = admin_client.get(f"/admin/channels/inboundevent/{query}").content.decode()

    listed = {
        e for e in ("waiting-one", "failing-one", "handled-one", "failed-in-request") if e in page
    }
    assert listed == shown
    labels = {"waiting-one": "waiting for a worker", "handled-one": "yes, by a worker",
              "failing-one": "failed 3 times; next try 01/02/2030 9:41 a.m.",
              "failed-in-request": "no (its request failed)"}  # fmt: skip
    assert all(labels[event_id] in page for event_id in shown)


def test_the_inbound_list_cuts_a_long_text_to_40_characters(admin_client, account):
    text = "Could you deliver on Saturday instead of Friday this week, please?"
    InboundEvent.objects.create(account=account, kind="text", platform_user_id="7",
                                event_id="long", occurred_at=timezone.now(), text=text)  # fmt: skip

    page = admin_client.get("/admin/channels/inboundevent/").content.decode()

    assert text[:39] + "…" in page
    assert text not in page


def test_the_inbound_list_names_each_kind_in_plain_words(admin_client, account):
    InboundEvent.objects.create(account=account, kind="marketing_stopped", platform_user_id="7",
                                event_id="stop", occurred_at=timezone.now())  # fmt: skip

    page = admin_client.get("/admin/channels/inboundevent/").content.decode()

    # in the Kind filter and in the row: words, not the enum's name
    assert page.count("Marketing stopped") >= 2
    assert "Marketing resumed" in page
    assert "Marketing_" not in page
