"""What the bot does with each inbound event: link on Start, STOP, settings, blocks, and the
platforms' marketing opt-outs.

Called by channels.inbound (settings.INBOUND_EVENT_HANDLERS) with each stored event, inside its
transaction; returns the replies to send. Payloads other than "sub:..." (survey answers, CTA
clicks) are left to the other handlers.
"""

import logging
import re
from collections.abc import Callable

from django.conf import settings

from channels.events import EventKind
from channels.messages import Button, RichMessage
from channels.models import InboundEvent
from channels.providers.base import Reply
from subscriptions import replies
from subscriptions.keywords import Keyword, keyword_match
from subscriptions.models import TOPIC_FIELDS, Subscription
from subscriptions.services import (
    LINK_PREDATES_LEAVING,
    LINKED_ELSEWHERE,
    StartOutcome,
    subscription_block,
    subscription_rejoin,
    subscription_resubscribe,
    subscription_set_topics,
    subscription_start,
    subscription_stop,
    subscription_touch,
)
from subscriptions.tokens import TokenInvalid, link_token_claims

log = logging.getLogger(__name__)

PREFIX = "sub:"
# A Start carrying a test-recipient code (campaigns/test_send.py) is a marketer linking their
# own chat, not a customer's link: this app says nothing to it.
TEST_RECIPIENT_CODE = re.compile(r"TEST-[A-Z0-9]{6}")
STOP = "sub:stop"
SETTINGS = "sub:settings"
START = "sub:start"
DONE = "sub:done"
TOPIC = "sub:topic:"
# What a platform's "stop marketing messages" covers: the weekly menu and promotions. Surveys
# are about an order the customer placed, and service messages need no topic.
MARKETING_TOPICS = frozenset({"menu", "promotions"})


def handle_event(event: InboundEvent) -> list[Reply]:
    """The replies to one inbound event from any platform ([] if it is not ours)."""
    handler = _HANDLERS.get(event.kind)
    if handler is None:
        return []
    messages = handler(event)
    return [Reply(event.platform_user_id, message) for message in messages]


# --- events -------------------------------------------------------------------------------------
def _on_start(event: InboundEvent) -> list[RichMessage]:
    if TEST_RECIPIENT_CODE.fullmatch(event.token.strip()):
        return []
    result = subscription_start(
        account=event.account,
        platform_user_id=event.platform_user_id,
        token=event.token.strip(),
        text=event.text,
        user_name=event.user_name,
        locale=event.locale,
        occurred_at=event.occurred_at,
    )
    subscription = result.subscription
    locale = _locale(event, subscription)
    match result.outcome:
        case StartOutcome.SUBSCRIBED | StartOutcome.RESUBSCRIBED:
            return [_subscribed("welcome", locale, subscription)]
        case StartOutcome.REJOINED:
            return [_subscribed("welcome_back", locale, subscription)]
        case StartOutcome.ALREADY:
            return [_subscribed("already", locale, subscription)]
        case StartOutcome.INVALID:
            key = "expired_link" if result.reason == "expired" else "invalid_link"
            return [_with_shop(key, locale)]
        case StartOutcome.REFUSED if subscription is not None and result.reason == LINKED_ELSEWHERE:
            return [_with_shop("moved", locale)]  # their own chat, left for a newer one
        case StartOutcome.REFUSED:
            stale = result.reason == LINK_PREDATES_LEAVING
            return [_with_shop("expired_link" if stale else "refused", locale)]
    # A plain Start, without a token, that changed nothing.
    if subscription is None:
        return [_with_shop("how_to_subscribe", locale)]
    if subscription.is_active:
        return [_subscribed("still_subscribed", locale, subscription)]
    return [_come_back(locale)]


def _on_text(event: InboundEvent) -> list[RichMessage]:
    subscription = _touched(event)
    text = event.text.strip()
    if text.startswith(PREFIX):
        # Viber reply buttons (and some quick replies) come back as text equal to the payload.
        return _on_payload(event, subscription, text, source="button")
    keyword = keyword_match(text)
    if keyword is Keyword.STOP:
        return _stop(event, subscription, source="keyword", evidence=text)
    if keyword is Keyword.SETTINGS:
        return _settings(event, subscription)
    if keyword is Keyword.START:
        return _rejoin(event, subscription, source="keyword", evidence=text)
    if subscription is None:
        return [_with_shop("how_to_subscribe", _locale(event, None))]
    return []  # a customer's own message: for other handlers (surveys, support)


def _on_button(event: InboundEvent) -> list[RichMessage]:
    subscription = _touched(event)
    if not event.payload.startswith(PREFIX):
        return []
    return _on_payload(event, subscription, event.payload, source="button")


def _on_blocked(event: InboundEvent) -> list[RichMessage]:
    subscription_block(
        account=event.account,
        platform_user_id=event.platform_user_id,
        reason=event.reason or "blocked",
        at=event.occurred_at,
    )
    return []  # they blocked us: nothing can reach them


def _on_resubscribed(event: InboundEvent) -> list[RichMessage]:
    if _is_our_token(event.token):
        # VK's message_allow carries the key given to the "allow messages" widget: when that is
        # a subscribe token, allowing messages is the customer's Start.
        return _on_start(event)
    before = _subscription(event)
    was_blocked = before is not None and before.status == Subscription.Status.BLOCKED
    subscription = subscription_resubscribe(
        account=event.account,
        platform_user_id=event.platform_user_id,
        reason=event.reason or "resubscribed",
        at=event.occurred_at,
    )
    # Viber also says "subscribed" on a linked chat's first message: only a real return is news.
    if was_blocked and subscription is not None and subscription.is_active:
        return [_subscribed("welcome_back", _locale(event, subscription), subscription)]
    return []


def _on_marketing(event: InboundEvent) -> list[RichMessage]:
    """The customer stopped (or resumed) the business's marketing messages on the platform:
    their marketing topics go off (or on), with a consent event; the subscription stays."""
    subscription = _subscription(event)
    if subscription is None:
        return []
    topics = set(subscription.topics())
    if event.kind == EventKind.MARKETING_STOPPED:
        topics -= MARKETING_TOPICS
    else:
        topics |= MARKETING_TOPICS
    subscription_set_topics(
        subscription=subscription,
        topics=topics,
        source="platform",
        evidence=event.reason,
        at=event.occurred_at,
    )
    return []  # the platform told them already


_HANDLERS: dict[str, Callable[[InboundEvent], list[RichMessage]]] = {
    EventKind.START: _on_start,
    EventKind.TEXT: _on_text,
    EventKind.BUTTON: _on_button,
    EventKind.BLOCKED: _on_blocked,
    EventKind.RESUBSCRIBED: _on_resubscribed,
    EventKind.MARKETING_STOPPED: _on_marketing,
    EventKind.MARKETING_RESUMED: _on_marketing,
}


# --- actions ------------------------------------------------------------------------------------
def _on_payload(
    event: InboundEvent, subscription: Subscription | None, payload: str, *, source: str
) -> list[RichMessage]:
    if payload == STOP:
        return _stop(event, subscription, source=source, evidence=payload)
    if payload == SETTINGS:
        return _settings(event, subscription)
    if payload == START:
        return _rejoin(event, subscription, source=source, evidence=payload)
    if payload == DONE:
        return _done(event, subscription)
    if payload.startswith(TOPIC):
        return _toggle(event, subscription, payload.removeprefix(TOPIC), evidence=payload)
    log.info("unknown subscription payload %r on %s", payload, event.account.name)
    return []


def _stop(
    event: InboundEvent, subscription: Subscription | None, *, source: str, evidence: str
) -> list[RichMessage]:
    locale = _locale(event, subscription)
    if subscription is None:
        return [_with_shop("not_subscribed", locale)]
    subscription_stop(
        subscription=subscription, source=source, evidence=evidence, at=event.occurred_at
    )
    # Answered the same way when already unsubscribed: STOP twice changes (and logs) nothing.
    return [_come_back(locale, key="stopped")]


def _rejoin(
    event: InboundEvent, subscription: Subscription | None, *, source: str, evidence: str
) -> list[RichMessage]:
    locale = _locale(event, subscription)
    if subscription is None:
        return [_with_shop("how_to_subscribe", locale)]
    outcome = subscription_rejoin(
        subscription=subscription, source=source, evidence=evidence, at=event.occurred_at
    )
    if outcome == StartOutcome.REJOINED:
        return [_subscribed("welcome_back", locale, subscription)]
    if outcome == StartOutcome.REFUSED:
        return [_with_shop("moved", locale)]
    return [_subscribed("still_subscribed", locale, subscription)]


def _settings(event: InboundEvent, subscription: Subscription | None) -> list[RichMessage]:
    locale = _locale(event, subscription)
    if subscription is None:
        return [_with_shop("how_to_subscribe", locale)]
    if not subscription.is_active:
        return [_come_back(locale)]
    return [_topic_menu(locale, subscription)]


def _toggle(
    event: InboundEvent, subscription: Subscription | None, topic: str, *, evidence: str
) -> list[RichMessage]:
    if topic not in TOPIC_FIELDS:
        return []
    if subscription is None or not subscription.is_active:
        return _settings(event, subscription)
    topics = set(subscription.topics()) ^ {topic}
    subscription_set_topics(
        subscription=subscription,
        topics=topics,
        source="button",
        evidence=evidence,
        at=event.occurred_at,
    )
    return [_topic_menu(_locale(event, subscription), subscription)]


def _done(event: InboundEvent, subscription: Subscription | None) -> list[RichMessage]:
    locale = _locale(event, subscription)
    if subscription is None or not subscription.is_active:
        return _settings(event, subscription)
    chosen = [replies.text(f"topic.{topic}", locale) for topic in subscription.topics()]
    if not chosen:
        return [_message(replies.text("topics_none", locale), _leave_buttons(locale))]
    summary = replies.text("topics_saved", locale, topics=", ".join(chosen))
    return [_message(summary, _leave_buttons(locale))]


# --- messages -----------------------------------------------------------------------------------
def _subscribed(key: str, locale: str, subscription: Subscription | None) -> RichMessage:
    order = subscription.order.external_id if subscription and subscription.order else ""
    if key == "already" and not order:
        key = "still_subscribed"
    return _message(replies.text(key, locale, order=order), _leave_buttons(locale))


def _leave_buttons(locale: str) -> tuple[Button, ...]:
    return (
        Button(replies.text("button.settings", locale), payload=SETTINGS),
        Button(replies.text("button.unsubscribe", locale), payload=STOP),
    )


def _come_back(locale: str, *, key: str = "come_back") -> RichMessage:
    button = Button(replies.text("button.subscribe_again", locale), payload=START)
    return _message(replies.text(key, locale), (button,))


def _with_shop(key: str, locale: str) -> RichMessage:
    shop = settings.SHOP_URL
    button = Button(replies.text("button.shop", locale), url=shop)
    return _message(replies.text(key, locale, shop_url=shop), (button,))


def _topic_menu(locale: str, subscription: Subscription) -> RichMessage:
    lines, buttons = [], []
    for topic in TOPIC_FIELDS:
        name = replies.text(f"topic.{topic}", locale)
        on = subscription.wants(topic)
        lines.append(f"• {name}: {replies.text('on' if on else 'off', locale)}")
        buttons.append(Button(f"{'✅' if on else '⬜'} {name}", payload=f"{TOPIC}{topic}"))
    buttons.append(Button(replies.text("button.done", locale), payload=DONE))
    body = replies.text("topics", locale, topics="\n".join(lines))
    return _message(body, tuple(buttons))


def _message(body: str, buttons: tuple[Button, ...]) -> RichMessage:
    return RichMessage(text=body, buttons=buttons)


# --- lookups ------------------------------------------------------------------------------------
def _subscription(event: InboundEvent) -> Subscription | None:
    return (
        Subscription.objects.select_related("customer", "order")
        .filter(account_id=event.account_id, platform_user_id=event.platform_user_id)
        .first()
    )


def _touched(event: InboundEvent) -> Subscription | None:
    """The sender's subscription, its last_inbound_at moved to this message."""
    subscription = _subscription(event)
    if subscription is not None:
        subscription_touch(subscription=subscription, at=event.occurred_at)
    return subscription


def _is_our_token(token: str) -> bool:
    try:
        link_token_claims(token)
    except TokenInvalid:
        return False
    return True


def _locale(event: InboundEvent, subscription: Subscription | None) -> str:
    """The customer's language, else the platform's for this user, else English."""
    if subscription is None:
        return replies.language(event.locale)
    return replies.language(subscription.customer.locale, event.locale, subscription.locale)
