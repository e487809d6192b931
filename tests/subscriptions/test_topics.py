import pytest

from subscriptions import replies
from subscriptions.models import ConsentEvent, Subscription
from subscriptions.services import subscription_set_topics
from subscriptions.tokens import order_token_issue
from tests.factories import CustomerFactory, OrderFactory
from tests.subscriptions import payloads, press, start, text

pytestmark = pytest.mark.django_db

MENU_PAYLOADS = ["sub:topic:menu", "sub:topic:surveys", "sub:topic:promotions", "sub:done"]


def subscribe(account, locale: str = "en") -> Subscription:
    start(account, order_token_issue(OrderFactory(customer=CustomerFactory(locale=locale))))
    return Subscription.objects.get()


@pytest.mark.parametrize(
    ("ask", "locale"),
    [
        (lambda account: press(account, "sub:settings"), "en"),
        (lambda account: text(account, "Settings"), "en"),
        (lambda account: text(account, "/settings"), "en"),
        (lambda account: text(account, "настройки"), "ru"),
        (lambda account: text(account, "Налаштування"), "uk"),
    ],
    ids=["button", "word", "command", "ru", "uk"],
)
def test_it_shows_the_topic_menu_with_a_toggle_per_topic(telegram, ask, locale):
    # given a subscribed customer
    subscribe(telegram, locale)
    # when they ask for settings
    [reply] = ask(telegram)
    # then each topic has a toggle showing it on, and there is a Done button
    assert payloads(reply) == MENU_PAYLOADS
    menu = replies.text("topic.menu", locale)
    assert reply.message.buttons[0].text == f"✅ {menu}"
    assert f"{menu}: {replies.text('on', locale)}" in reply.message.text
    # and asking changes nothing
    assert not ConsentEvent.objects.filter(kind="topic_change").exists()


def test_it_toggles_a_topic_and_records_the_new_topic_list(telegram):
    # given a subscriber who gets every topic
    subscription = subscribe(telegram)
    # when they switch surveys off
    [reply] = press(telegram, "sub:topic:surveys")
    # then the subscription and the consent log both say menu and promotions only
    subscription.refresh_from_db()
    assert subscription.topics() == ["menu", "promotions"]
    change = ConsentEvent.objects.get(kind="topic_change")
    assert (change.topics, change.source, change.evidence) == (
        ["menu", "promotions"],
        "button",
        "sub:topic:surveys",
    )
    # and the menu comes back updated
    surveys = replies.text("topic.surveys", "en")
    assert reply.message.buttons[1].text == f"⬜ {surveys}"
    assert f"{surveys}: off" in reply.message.text


def test_it_switches_a_topic_back_on(telegram):
    subscription = subscribe(telegram)
    press(telegram, "sub:topic:menu")
    press(telegram, "sub:topic:menu")
    subscription.refresh_from_db()
    assert subscription.wants("menu")
    changes = ConsentEvent.objects.filter(kind="topic_change").order_by("id")
    assert [change.topics for change in changes] == [
        ["surveys", "promotions"],
        ["menu", "surveys", "promotions"],
    ]


def test_it_sums_up_the_choice_on_done(telegram):
    subscribe(telegram)
    press(telegram, "sub:topic:promotions")
    [reply] = press(telegram, "sub:done")
    assert reply.message.text == replies.text("topics_saved", "en", topics="Weekly menu, Surveys")
    assert payloads(reply) == ["sub:settings", "sub:stop"]


def test_it_says_only_order_updates_remain_when_every_topic_is_off(telegram):
    subscribe(telegram, "uk")
    for topic in ("menu", "surveys", "promotions"):
        press(telegram, f"sub:topic:{topic}")
    [reply] = press(telegram, "sub:done")
    assert reply.message.text == replies.text("topics_none", "uk")
    assert Subscription.objects.get().is_active


def test_it_ignores_an_unknown_topic(telegram):
    subscribe(telegram)
    assert press(telegram, "sub:topic:horoscopes") == []
    assert not ConsentEvent.objects.filter(kind="topic_change").exists()


def test_it_offers_to_come_back_instead_of_settings_after_stop(telegram):
    subscribe(telegram)
    text(telegram, "stop")
    [reply] = press(telegram, "sub:topic:menu")
    assert payloads(reply) == ["sub:start"]
    assert not ConsentEvent.objects.filter(kind="topic_change").exists()


def test_it_records_nothing_when_the_topics_do_not_change(telegram):
    subscription = subscribe(telegram)
    changed = subscription_set_topics(
        subscription=subscription, topics={"menu", "surveys", "promotions"}, source="api"
    )
    assert changed is False
    assert not ConsentEvent.objects.filter(kind="topic_change").exists()


def test_it_rejects_a_topic_it_does_not_know(telegram):
    subscription = subscribe(telegram)
    with pytest.raises(ValueError, match="horoscopes"):
        subscription_set_topics(subscription=subscription, topics={"horoscopes"}, source="api")
