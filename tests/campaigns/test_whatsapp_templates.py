"""WhatsApp templates: synced from the Management API (the fake platform's message_templates
route), picked in the campaign form, and sent with the approved language code, never the
customer's raw locale, end to end through the dispatcher."""

import pytest
from django.core.management import call_command

from campaigns.models import Campaign, Delivery, WhatsAppTemplate
from campaigns.whatsapp_templates import TemplateSyncError, whatsapp_templates_sync
from tests.campaigns.test_dispatch import dispatch_until_settled
from tests.factories import (
    CREDENTIALS,
    CampaignFactory,
    CustomerFactory,
    DeliveryFactory,
    SubscriptionFactory,
)

WA = {**CREDENTIALS["whatsapp"], "waba_id": "102290129340398"}


@pytest.fixture
def whatsapp(account_on):
    return account_on("whatsapp", credentials=WA)


@pytest.mark.django_db(transaction=True)
def test_the_command_syncs_the_accounts_templates(whatsapp, fake_platform, capsys):
    call_command("sync_whatsapp_templates")
    assert "4 templates" in capsys.readouterr().out
    menu = WhatsAppTemplate.objects.get(name="weekly_menu", language="en_US")
    assert (menu.category, menu.status, menu.parameters) == ("MARKETING", "APPROVED", 2)
    assert WhatsAppTemplate.objects.get(name="order_survey").status == "PENDING"
    # Syncing again replaces, never doubles.
    assert whatsapp_templates_sync(account=whatsapp) == 4
    assert WhatsAppTemplate.objects.count() == 4


@pytest.mark.django_db
def test_an_account_without_waba_id_is_refused_by_name(account_on):
    account = account_on("whatsapp")
    with pytest.raises(TemplateSyncError, match="waba_id"):
        whatsapp_templates_sync(account=account)


@pytest.mark.django_db(transaction=True)
def test_the_admin_button_syncs_and_the_form_picks_from_the_list(
    whatsapp, fake_platform, admin_client
):
    page = admin_client.post("/admin/campaigns/whatsapptemplate/sync/", follow=True)
    assert "4 templates synced" in page.text
    form = admin_client.get("/admin/campaigns/campaign/add/").text
    assert '<option value="weekly_menu">weekly_menu</option>' in form
    assert '<option value="order_survey">' not in form  # pending: not offered
    assert '<option value="en_US">en_US</option>' in form
    assert '<option value="{items}">Order items</option>' in form


@pytest.mark.django_db(transaction=True)
def test_a_send_uses_the_approved_language_code_never_the_raw_locale(whatsapp, fake_platform):
    campaign = CampaignFactory(
        category="service",
        respect_quiet_hours=False,
        whatsapp_template="weekly_menu",
        whatsapp_template_params=["{name}", "{items}"],
        whatsapp_template_languages={"uk": "uk", "default": "en_US"},
    )
    for locale in ("en-GB", "uk-UA"):
        customer = CustomerFactory(locale=locale, name=locale)
        # Never wrote to the shop: outside the 24-hour window, so the template goes.
        subscription = SubscriptionFactory(account=whatsapp, customer=customer, order=None)
        DeliveryFactory(campaign=campaign, subscription=subscription)

    dispatch_until_settled(whatsapp)

    sent = {
        r.json["template"]["components"][0]["parameters"][0]["text"]: r.json["template"]
        for r in fake_platform.requests_for("whatsapp")
        if r.answered == 200 and r.json.get("type") == "template"
    }
    assert sent["en-GB"]["language"] == {"code": "en_US"}
    assert sent["uk-UA"]["language"] == {"code": "uk"}
    assert set(Delivery.objects.values_list("state", flat=True)) == {"sent"}
    assert Campaign.objects.get().whatsapp_template_languages["default"] == "en_US"
