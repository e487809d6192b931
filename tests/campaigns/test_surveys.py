import datetime as dt
import itertools

import pytest
from django.utils import timezone

from campaigns.models import Campaign, Delivery, SurveyAnswer
from campaigns.surveys import survey_alerts_send
from channels.inbound import inbound_event_process
from channels.models import InboundEvent
from tests.factories import (
    CampaignFactory,
    ChannelAccountFactory,
    CustomerFactory,
    DeliveryFactory,
    OrderFactory,
    OrderItemFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db
_ids = itertools.count()


@pytest.fixture
def sent_survey() -> Delivery:
    """A survey sent yesterday about a delivered order of two meal sets."""
    customer = CustomerFactory(name="Olena", locale="uk")
    order = OrderFactory(customer=customer, items=0, external_id="A-100")
    OrderItemFactory(order=order, sku="borscht", name="Borscht")
    OrderItemFactory(order=order, sku="varenyky", name="Varenyky")
    subscription = SubscriptionFactory(customer=customer, order=order)
    campaign: Campaign = CampaignFactory(kind="triggered", category="survey", topic="surveys")
    return DeliveryFactory(
        campaign=campaign,
        subscription=subscription,
        order=order,
        occurrence="event:evt-1",
        state="sent",
        sent_at=timezone.now() - dt.timedelta(days=1),
    )


def inbound(delivery: Delivery, kind: str, *, user: str | None = None, account=None, **fields):
    """Store an inbound event and run every INBOUND_EVENT_HANDLERS on it, as a webhook would."""
    event = InboundEvent.objects.create(
        account=account or delivery.account,
        kind=kind,
        platform_user_id=user or delivery.subscription.platform_user_id,
        event_id=f"evt-{next(_ids)}",
        occurred_at=timezone.now(),
        **fields,
    )
    return inbound_event_process(event=event)


def press(delivery: Delivery, score: int, **kwargs):
    return inbound(delivery, "button", payload=f"survey:{delivery.pk}:{score}", **kwargs)


def test_it_stores_the_score_with_the_order_and_its_items(sent_survey):
    # when the customer presses 4
    replies = press(sent_survey, 4)
    # then
    answer = SurveyAnswer.objects.get(delivery=sent_survey)
    assert (answer.score, answer.order_id) == (4, sent_survey.order_id)
    assert answer.items == ["borscht", "varenyky"]
    sent_survey.refresh_from_db()
    assert sent_survey.answered_at is not None
    # and thanks them in their language, inviting a comment
    assert [r.message.text for r in replies] == ["Дякуємо! Бажаєте щось додати? Просто напишіть."]


def test_the_campaigns_own_comment_prompt_follows_the_customers_language(sent_survey):
    # given a survey whose Ukrainian message asks its own question after a score
    campaign = sent_survey.campaign
    campaign.content = {"default": {"text": "How was it?", "comment_prompt": "What went wrong?"}}
    campaign.content_variants = {
        "uk": {"default": {"text": "Як вам?", "comment_prompt": "Що нам покращити?"}}
    }
    campaign.save()

    # when the Ukrainian customer taps a score, then a comment
    [prompt] = press(sent_survey, 2)
    inbound(sent_survey, "text", text="Борщ був холодний")

    # then they read the campaign's Ukrainian prompt, and the comment is stored
    assert prompt.message.text == "Що нам покращити?"
    assert SurveyAnswer.objects.get(delivery=sent_survey).comment == "Борщ був холодний"

    # and a customer with no matching language reads the default one
    sent_survey.subscription.customer.locale = "de"
    sent_survey.subscription.customer.save()
    [prompt] = press(sent_survey, 3)
    assert prompt.message.text == "What went wrong?"


def test_a_repeated_press_updates_the_one_answer(sent_survey):
    press(sent_survey, 2)
    press(sent_survey, 5)
    assert list(SurveyAnswer.objects.values_list("score", flat=True)) == [5]


def test_a_late_answer_still_counts(sent_survey):
    Delivery.objects.filter(pk=sent_survey.pk).update(
        sent_at=timezone.now() - dt.timedelta(days=60)
    )
    press(sent_survey, 3)
    assert SurveyAnswer.objects.get(delivery=sent_survey).score == 3


def test_a_stranger_cannot_answer_someone_elses_survey(sent_survey):
    # given another customer on the same bot, and the right user on another account
    stranger = SubscriptionFactory(account=sent_survey.account)
    other_account = ChannelAccountFactory(kind="viber")
    # when both press the survey's button payload
    replies = press(sent_survey, 1, user=stranger.platform_user_id)
    replies += press(sent_survey, 1, account=other_account)
    # then nothing is stored and nothing is said
    assert replies == []
    assert not SurveyAnswer.objects.exists()
    sent_survey.refresh_from_db()
    assert sent_survey.answered_at is None


def test_a_text_after_answering_is_the_comment(sent_survey):
    press(sent_survey, 2)
    replies = inbound(sent_survey, "text", text="Borscht was cold")
    inbound(sent_survey, "text", text="and late")
    answer = SurveyAnswer.objects.get(delivery=sent_survey)
    assert answer.comment == "Borscht was cold\nand late"
    assert [r.message.text for r in replies] == ["Дякуємо, ми передали ваш відгук команді."]


def test_a_text_long_after_answering_is_not_a_comment(sent_survey, settings):
    settings.SURVEY_COMMENT_HOURS = 24
    press(sent_survey, 2)
    SurveyAnswer.objects.update(answered_at=timezone.now() - dt.timedelta(hours=25))
    assert inbound(sent_survey, "text", text="hello?") == []
    assert SurveyAnswer.objects.get().comment == ""


def test_stop_is_a_command_not_a_comment(sent_survey):
    press(sent_survey, 2)
    inbound(sent_survey, "text", text="STOP")
    assert SurveyAnswer.objects.get().comment == ""
    sent_survey.subscription.refresh_from_db()
    assert sent_survey.subscription.status == "unsubscribed"


def test_a_low_score_e_mails_the_shop_once_with_everything(sent_survey, settings, mailoutbox):
    # given alerts configured and a score of 1 with a comment
    settings.SURVEY_ALERT_EMAIL = ["care@shop.example"]
    press(sent_survey, 1)
    inbound(sent_survey, "text", text="Varenyky were raw")
    # when the alert tick runs (twice)
    sent = survey_alerts_send()
    again = survey_alerts_send()
    # then one e-mail names customer, order, items, score and comment
    assert (sent, again) == (1, 0)
    [mail] = mailoutbox
    assert mail.to == ["care@shop.example"]
    assert "1/5" in mail.subject and "Olena" in mail.subject
    for expected in ("A-100", "borscht", "Varenyky", "Score: 1/5", "Varenyky were raw"):
        assert expected in mail.body
    assert SurveyAnswer.objects.get().alerted_at is not None


def test_a_low_score_without_comment_waits_for_the_grace_period(sent_survey, settings, mailoutbox):
    settings.SURVEY_ALERT_EMAIL = ["care@shop.example"]
    settings.SURVEY_ALERT_GRACE_MINUTES = 10
    press(sent_survey, 2)
    assert survey_alerts_send() == 0
    assert survey_alerts_send(now=timezone.now() + dt.timedelta(minutes=11)) == 1
    assert "Comment: (none yet)" in mailoutbox[0].body


def test_a_good_score_alerts_nobody(sent_survey, settings, mailoutbox):
    settings.SURVEY_ALERT_EMAIL = ["care@shop.example"]
    press(sent_survey, 3)
    inbound(sent_survey, "text", text="fine")
    assert survey_alerts_send(now=timezone.now() + dt.timedelta(hours=1)) == 0
    assert mailoutbox == []


def test_the_admin_lists_low_scores(sent_survey, admin_client):
    press(sent_survey, 1)
    happy = DeliveryFactory(
        campaign=sent_survey.campaign, subscription=SubscriptionFactory(), occurrence="event:x"
    )
    SurveyAnswer.objects.create(delivery=happy, score=5, comment="delicious")
    SurveyAnswer.objects.filter(score=1).update(comment="cold soup")
    page = admin_client.get("/admin/campaigns/surveyanswer/?low=yes")
    assert page.status_code == 200
    assert "cold soup" in page.text and "delicious" not in page.text
