"""Lifecycle safety in admin: the send ledger is never deleted, launched content is locked,
and the Marketers group sees campaigns but no credentials or API keys."""

import datetime as dt
import importlib

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group, Permission, User
from django.db.migrations import RunPython
from django.utils import timezone

from campaigns.lifecycle import campaign_versions
from campaigns.models import Campaign, Delivery
from tests.factories import CampaignFactory, ChannelAccountFactory, DeliveryFactory

pytestmark = pytest.mark.django_db
# The migrations that make and extend the Marketers group, in order.
MARKETERS_MIGRATIONS = (
    "0009_marketers_group",
    "0011_marketers_test_send_permissions",
    "0014_marketers_whatsapp_templates",
    "0016_delivery_resend_permission",
)


def marketers_group() -> Group:
    """The group the data migrations made (a transactional test's flush may have removed it:
    then run those migrations' own functions again)."""
    if not Group.objects.filter(name="Marketers").exists():
        for name in MARKETERS_MIGRATIONS:
            migration = importlib.import_module(f"campaigns.migrations.{name}").Migration
            for operation in migration.operations:
                if isinstance(operation, RunPython):
                    operation.code(django_apps, None)
    return Group.objects.get(name="Marketers")


@pytest.fixture
def marketer(client):
    user = User.objects.create_user("mia", password="pw-for-tests", is_staff=True)
    user.groups.add(marketers_group())
    client.force_login(user)
    return client


def test_it_refuses_to_delete_a_campaign_with_deliveries(admin_client):
    delivery = DeliveryFactory(state="sent", sent_at=timezone.now())
    campaign = delivery.campaign
    page = admin_client.post(
        f"/admin/campaigns/campaign/{campaign.pk}/delete/", {"post": "yes"}, follow=True
    )
    assert "cannot be deleted: it has 1 delivery" in page.text
    assert "Archive it instead" in page.text
    assert Campaign.objects.filter(pk=campaign.pk).exists()
    assert Delivery.objects.filter(pk=delivery.pk).exists()


def test_the_bulk_delete_action_refuses_campaigns_with_deliveries(admin_client):
    sent = DeliveryFactory().campaign
    empty = CampaignFactory(status="draft")
    page = admin_client.post(
        "/admin/campaigns/campaign/",
        {"action": "delete_selected", "_selected_action": [sent.pk, empty.pk], "post": "yes"},
        follow=True,
    )
    assert f"“{sent}” cannot be deleted" in page.text
    assert Campaign.objects.filter(pk=sent.pk).exists()
    assert not Campaign.objects.filter(pk=empty.pk).exists()


def test_a_campaign_without_deliveries_can_be_deleted(admin_client):
    campaign = CampaignFactory(status="draft")
    admin_client.post(f"/admin/campaigns/campaign/{campaign.pk}/delete/", {"post": "yes"})
    assert not Campaign.objects.filter(pk=campaign.pk).exists()


def test_archive_hides_a_finished_campaign_from_the_list_and_keeps_its_ledger(admin_client):
    delivery = DeliveryFactory(campaign=CampaignFactory(status="finished", name="Old menu"))
    campaign = delivery.campaign
    page = admin_client.post(f"/admin/campaigns/campaign/{campaign.pk}/archive/", follow=True)
    assert "its deliveries are kept" in page.text
    campaign.refresh_from_db()
    assert campaign.archived_at is not None
    assert "Old menu" not in admin_client.get("/admin/campaigns/campaign/").text
    assert "Old menu" in admin_client.get("/admin/campaigns/campaign/?archived=yes").text
    assert Delivery.objects.filter(pk=delivery.pk).exists()


def test_a_running_campaign_must_be_paused_before_archiving(admin_client):
    campaign = CampaignFactory(status="running")
    page = admin_client.post(f"/admin/campaigns/campaign/{campaign.pk}/archive/", follow=True)
    assert "pause it before archiving it" in page.text
    campaign.refresh_from_db()
    assert campaign.archived_at is None


def test_editing_a_launched_message_keeps_the_sent_version_in_history(admin_client):
    launched = timezone.now() - dt.timedelta(hours=2)
    campaign = CampaignFactory(
        status="running", launched_at=launched, content={"default": {"text": "Sent"}}
    )
    DeliveryFactory(campaign=campaign, state="sent", sent_at=launched + dt.timedelta(hours=1))
    DeliveryFactory(campaign=campaign, state="pending")
    url = f"/admin/campaigns/campaign/{campaign.pk}/change/"
    page = admin_client.get(url)
    assert "makes a new version" in page.text
    assert '<select name="category"' not in page.text  # kind, category, topic are fixed
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    data = {k: v for k, v in data.items() if v is not None}
    data.update(content='{"default": {"text": "Changed"}}', send_at_0="", send_at_1="")
    data.update(trigger_delay_0="0", trigger_delay_1="hours")
    page = admin_client.post(url, data, follow=True)
    assert "Saved as a new version" in page.text, page.context["adminform"].form.errors
    campaign.refresh_from_db()
    assert campaign.content == {"default": {"text": "Changed"}}
    [version] = campaign.versions.all()
    assert (version.number, version.fields["content"]) == (1, {"default": {"text": "Sent"}})
    page = admin_client.get(url).text
    assert "v1" in page and "v2 (current)" in page
    # The one sent before the edit counts for v1; the pending one will go with v2.
    assert [v["sent"] for v in campaign_versions(campaign)] == [1, 0]


def test_duplicate_makes_an_editable_draft_copy_with_the_same_accounts(admin_client):
    account = ChannelAccountFactory()
    campaign = CampaignFactory(
        status="running", launched_at=timezone.now(), content={"default": {"text": "Menu"}}
    )
    campaign.accounts.add(account)
    DeliveryFactory(campaign=campaign)
    page = admin_client.post(f"/admin/campaigns/campaign/{campaign.pk}/duplicate/", follow=True)
    copy = Campaign.objects.exclude(pk=campaign.pk).get()
    assert (copy.name, copy.status, copy.launched_at) == (f"Copy of {campaign}", "draft", None)
    assert copy.content == campaign.content
    assert list(copy.accounts.all()) == [account]
    assert not copy.deliveries.exists()
    assert 'name="content"' in page.text  # editable again


def test_the_marketers_group_exists_with_campaign_permissions(marketer):
    assert marketer.get("/admin/campaigns/campaign/").status_code == 200
    assert marketer.get("/admin/campaigns/campaign/add/").status_code == 200
    assert marketer.get("/admin/campaigns/surveyanswer/").status_code == 200
    assert marketer.get("/admin/subscriptions/consentevent/").status_code == 200
    assert marketer.get("/admin/campaigns/whatsapptemplate/").status_code == 200
    assert marketer.get("/admin/campaigns/testrecipient/add/").status_code == 302  # a new code


@pytest.mark.parametrize(
    "url",
    [
        "/admin/channels/channelaccount/",
        "/admin/channels/channelaccount/add/",
        "/admin/subscriptions/apikey/",
        "/admin/subscriptions/apikey/add/",
        "/admin/subscriptions/consentevent/add/",
    ],
)
def test_a_marketer_cannot_open_channel_credentials_or_api_keys(marketer, url):
    assert marketer.get(url).status_code == 403


def test_a_marketer_cannot_change_a_consent_event(marketer):
    group = marketers_group()
    codenames = set(group.permissions.values_list("codename", flat=True))
    assert "view_consentevent" in codenames
    assert not codenames & {"change_consentevent", "add_consentevent", "delete_consentevent"}
    assert not {c for c in codenames if c.endswith(("channelaccount", "apikey"))}


def test_resending_unknown_rows_needs_its_own_permission(marketer):
    # given an unknown delivery, and a marketer (whose group has the permission)
    delivery = DeliveryFactory(state="unknown", reason="connection lost")
    chosen = {"action": "resend_unknown", "_selected_action": [delivery.pk]}
    page = marketer.get("/admin/campaigns/delivery/")
    assert b'value="resend_unknown"' in page.content

    # when the shop takes the permission away, the action is gone and a forged POST does nothing
    Group.objects.get(name="Marketers").permissions.remove(
        Permission.objects.get(codename="resend_delivery")
    )
    page = marketer.get("/admin/campaigns/delivery/")
    assert b'value="resend_unknown"' not in page.content
    marketer.post("/admin/campaigns/delivery/", {**chosen, "confirmed": "yes"})
    assert Delivery.objects.get(pk=delivery.pk).state == "unknown"
