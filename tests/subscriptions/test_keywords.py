"""Words a customer types instead of pressing a button, however they type them."""

import pytest

from subscriptions.keywords import WORDS, Keyword, keyword_match
from subscriptions.models import ConsentEvent, Subscription
from subscriptions.tokens import order_token_issue
from tests.factories import ChannelAccountFactory, OrderFactory
from tests.subscriptions import start, text

STOP_VARIANTS = [
    # en
    "STOP", "Stop all", "stop  all", "STOPALL", "stop it", "unsub", "Unsubscribe me",
    "opt-out", "Opt out", "quit", "/unsub", "/stop@comeback_test_bot", "stop!!",
    # ru
    "Отпишись", "отписатся", "отпишите меня", "Отписываюсь", "СТОП.",
    # uk
    "Відписатись", "відпишись", "відпишіть мене", "відписуюсь", "Відписуюся",
]  # fmt: skip
NOT_STOP = [
    "cancel",  # usually the order, not the messages
    "stop by tomorrow?",
    "unsubscribed",
    "stopped",
    "don't stop",
    "отписала подругу",
    "стоп-кран",
]


@pytest.mark.parametrize("typed", STOP_VARIANTS)
def test_it_reads_each_common_way_of_saying_stop(typed):
    assert keyword_match(typed) is Keyword.STOP


@pytest.mark.parametrize("typed", NOT_STOP)
def test_it_does_not_read_other_messages_as_stop(typed):
    assert keyword_match(typed) is not Keyword.STOP


@pytest.mark.parametrize("typed", ["Підписатись", "підпишись", "Подпишись", "resubscribe"])
def test_it_reads_the_ways_back_as_start(typed):
    assert keyword_match(typed) is Keyword.START


def test_it_keeps_the_word_lists_apart():
    # one word meaning two things would make the bot's answer depend on dict order
    stop, settings, back = WORDS[Keyword.STOP], WORDS[Keyword.SETTINGS], WORDS[Keyword.START]
    assert not (stop & settings) and not (stop & back) and not (settings & back)
    # every word is stored as keyword_match compares it: case-folded, single-spaced
    for word in stop | settings | back:
        assert word == " ".join(word.casefold().split())


@pytest.mark.django_db
@pytest.mark.parametrize("typed", ["unsub", "stop all", "відписатись", "отпишись"])
def test_it_unsubscribes_on_a_variant_with_an_opt_out_quoting_it(typed):
    # given a subscribed chat
    telegram = ChannelAccountFactory(kind="telegram")
    start(telegram, order_token_issue(OrderFactory()))
    # when the customer types the variant
    text(telegram, typed)
    # then they are unsubscribed, and the log quotes what they typed
    assert Subscription.objects.get().status == Subscription.Status.UNSUBSCRIBED
    opt_out = ConsentEvent.objects.get(kind="opt_out")
    assert (opt_out.source, opt_out.evidence) == ("keyword", typed)
