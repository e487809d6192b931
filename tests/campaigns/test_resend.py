"""The marketer's explicit resend of `unknown` deliveries (campaigns/resend.py)."""

from collections import Counter

import pytest

from campaigns.dispatch import run_account
from campaigns.models import Delivery
from campaigns.resend import unknown_resend
from tests.campaigns.test_dispatch import delivered_ids, make_deliveries

pytestmark = pytest.mark.django_db


def test_it_sends_again_only_the_unknown_rows_and_records_who_asked(account_on, fake_platform):
    # given one delivery whose send may have reached the platform, and one sent
    account = account_on("telegram")
    unknown, sent = make_deliveries(account, 2)
    Delivery.objects.filter(pk=unknown.pk).update(state="unknown", reason="timed out after 10s")
    Delivery.objects.filter(pk=sent.pk).update(state="sent", provider_message_id="7")

    changed = unknown_resend(delivery_ids=[unknown.pk, sent.pk], by="maria")

    # then only the unknown one is due again, saying who resent it and why
    assert changed == 1
    unknown.refresh_from_db()
    assert (unknown.state, unknown.reason) == (
        "pending",
        "resent by maria after unknown: timed out after 10s",
    )
    # and the next dispatch sends it, and only it
    run_account(account.pk)
    assert delivered_ids(fake_platform, "telegram") == Counter({unknown.pk: 1})
    assert Delivery.objects.get(pk=unknown.pk).state == "sent"
    assert Delivery.objects.get(pk=sent.pk).provider_message_id == "7"


def test_the_admin_action_states_the_risk_then_resends_only_on_confirmation(
    admin_client, account_on
):
    # given an unknown delivery and a sent one, both selected in admin
    account = account_on("telegram")
    unknown, sent = make_deliveries(account, 2)
    Delivery.objects.filter(pk=unknown.pk).update(state="unknown", reason="connection lost")
    Delivery.objects.filter(pk=sent.pk).update(state="sent")
    chosen = {"action": "resend_unknown", "_selected_action": [unknown.pk, sent.pk]}

    # when the marketer runs the action, a page says the customer may get it twice
    page = admin_client.post("/admin/campaigns/delivery/", chosen)
    assert page.status_code == 200
    assert b"may give these customers the same message twice" in page.content
    assert b"1 other selected delivery" in page.content
    assert Delivery.objects.get(pk=unknown.pk).state == "unknown"  # nothing changed yet

    # and only confirming it puts the unknown one (alone) back to due, recording who did it
    done = admin_client.post("/admin/campaigns/delivery/", {**chosen, "confirmed": "yes"})
    assert done.status_code == 302
    assert Delivery.objects.get(pk=unknown.pk).state == "pending"
    assert Delivery.objects.get(pk=sent.pk).state == "sent"
    assert Delivery.objects.get(pk=unknown.pk).reason.startswith("resent by admin after unknown")
