"""Test-send: a marketer links their own chat (here the sandbox chat) by sending a code, then
sends the current draft to it: outside audience and policies, recorded as a test, in no stat."""

import json

import pytest

from campaigns.models import Delivery, TestRecipient, TestSend
from campaigns.stats import campaign_stats
from campaigns.test_send import test_recipient_link as link
from channels.events import EventKind
from channels.models import ChannelAccount, SandboxMessage
from channels.sandbox.services import sandbox_event_post
from subscriptions.models import Subscription
from tests.factories import CampaignFactory, ChannelAccountFactory

pytestmark = pytest.mark.django_db
CONVERSATION = "marketer-chat-1"
LINK = "{link}"


@pytest.fixture
def sandbox() -> ChannelAccount:
    account = ChannelAccount.objects.filter(kind="sandbox").first()
    return account or ChannelAccountFactory(kind="sandbox", name="sandbox")


@pytest.fixture
def recipient(admin_client, sandbox) -> TestRecipient:
    page = admin_client.get("/admin/campaigns/testrecipient/add/", follow=True)
    recipient = TestRecipient.objects.get()
    assert recipient.code in page.text
    assert "Open the sandbox chat" in page.text
    event = {"type": "text", "id": "1", "text": f"hi, my code is {recipient.code.lower()}"}
    sandbox_event_post(account=sandbox, conversation=CONVERSATION, event=event)
    page = admin_client.post(f"/admin/campaigns/testrecipient/{recipient.pk}/link/", follow=True)
    assert "Linked:" in page.text
    recipient.refresh_from_db()
    return recipient


def test_sending_the_code_links_the_chat_it_came_from(recipient, sandbox):
    assert (recipient.account, recipient.platform_user_id) == (sandbox, CONVERSATION)
    # A test chat is no customer's subscription, so no audience can ever hold it.
    assert not Subscription.objects.filter(platform_user_id=CONVERSATION).exists()


def test_a_code_never_sent_links_nothing(admin_client):
    admin_client.get("/admin/campaigns/testrecipient/add/")
    recipient = TestRecipient.objects.get()
    assert link(recipient=recipient) is False
    assert recipient.account is None


def test_it_sends_the_current_draft_in_the_chosen_language_and_counts_it_nowhere(
    admin_client, recipient
):
    campaign = CampaignFactory(status="draft", content={"default": {"text": "saved text"}})
    draft = {
        "recipient": recipient.pk,
        "language": "uk",
        "content": {"default": {"text": "draft {name}"}},
        "content_uk": {
            "default": {"text": "чернетка", "buttons": [{"text": "Go", "url": "{link}"}]}
        },
    }
    answer = admin_client.post(
        f"/admin/campaigns/campaign/{campaign.pk}/test-send/",
        json.dumps(draft),
        content_type="application/json",
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["sent"] is True
    # The bot answered the code (as to anyone); the test is the newest line.
    shown = SandboxMessage.objects.filter(conversation=CONVERSATION, direction="out").last()
    assert shown.body["text"] == "чернетка"
    test = TestSend.objects.get()
    assert (test.campaign, test.recipient, test.language, test.error) == (
        campaign,
        recipient,
        "uk",
        "",
    )
    assert not Delivery.objects.exists()
    assert campaign_stats(campaign)["total"] == 0
    campaign.refresh_from_db()
    assert campaign.content == {"default": {"text": "saved text"}}  # the draft is not saved


@pytest.mark.parametrize(
    ("draft", "field"),
    [
        ({"recipient": ""}, "recipient"),
        ({"recipient": 999}, "recipient"),
        ({"content": [1]}, "content"),
    ],
)
def test_a_bad_test_send_is_a_400_naming_the_field(admin_client, recipient, draft, field):
    campaign = CampaignFactory(status="draft")
    answer = admin_client.post(
        f"/admin/campaigns/campaign/{campaign.pk}/test-send/",
        json.dumps({"recipient": recipient.pk, **draft}),
        content_type="application/json",
    )
    assert answer.status_code == 400
    assert field in answer.json()["fields"]


def test_opening_the_test_link_on_a_messenger_links_that_chat_at_once(admin_client, client):
    import segno

    from campaigns.inbound import handle_event as campaigns_handle
    from subscriptions.inbound import handle_event as subscriptions_handle
    from tests.subscriptions import inbound
    from tests.subscriptions.hooks import post_hook, sender, start_webhook

    # given a Telegram bot, and a new test recipient's page
    telegram = ChannelAccountFactory(kind="telegram", name="shop-tg")
    page = admin_client.get("/admin/campaigns/testrecipient/add/", follow=True)
    recipient = TestRecipient.objects.get()
    link = f"https://t.me/{telegram.credentials['username']}?start={recipient.code}"
    # the page shows the bot's deep link with the code, and its QR code drawn from that link
    assert f'href="{link}"' in page.text
    qr = segno.make(link, error="m").svg_inline(scale=4, border=2, omitsize=True)
    assert qr in page.text

    # when the marketer opens it: Telegram posts a Start with the code
    body = start_webhook("telegram", link)
    assert post_hook(client, telegram, body).status_code == 200

    # then that chat is the test recipient, without pressing "I sent it"
    recipient.refresh_from_db()
    assert (recipient.account, recipient.platform_user_id) == (telegram, sender("telegram", body))
    assert not Subscription.objects.filter(account=telegram).exists()
    # and only the campaign engine answers it (no "invalid link" from the subscribe flow)
    event = inbound(telegram, EventKind.START, sender("telegram", body), token=recipient.code)
    assert subscriptions_handle(event) == []
    [reply] = campaigns_handle(event)
    assert reply.message.text.startswith("Linked")


def test_a_code_used_by_another_chat_is_refused_there(recipient, sandbox):
    from campaigns.inbound import handle_event as campaigns_handle
    from tests.subscriptions import inbound

    event = inbound(sandbox, EventKind.START, "someone-else", token=recipient.code)
    [reply] = campaigns_handle(event)

    assert "another chat" in reply.message.text
    recipient.refresh_from_db()
    assert recipient.platform_user_id == CONVERSATION
