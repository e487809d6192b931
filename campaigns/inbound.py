"""What the campaign engine does with inbound events: receipts, survey answers and comments,
reorder requests.

Runs after subscriptions.inbound.handle_event (settings.INBOUND_EVENT_HANDLERS), inside the same
transaction, so STOP and the other keywords have been handled before a text could be taken for
a survey comment.
"""

from campaigns.content import delivery_message
from campaigns.models import Delivery, TestRecipient
from campaigns.receipts import receipts_record
from campaigns.reorders import reorder_payload, reorder_request
from campaigns.surveys import (
    COMMENT_THANKS,
    comment_prompt,
    reply_text,
    survey_answer,
    survey_comment,
    survey_payload,
)
from campaigns.test_send import test_recipient_link
from channels.events import EventKind
from channels.messages import RichMessage
from channels.models import InboundEvent
from channels.providers import PROVIDERS
from channels.providers.base import Reply
from subscriptions.inbound import TEST_RECIPIENT_CODE


def handle_event(event: InboundEvent) -> list[Reply]:
    """The replies to one inbound event ([] when the engine has nothing to say)."""
    if event.kind in (EventKind.DELIVERED, EventKind.READ):
        receipts_record(event=event)
        return []
    if event.kind == EventKind.START and TEST_RECIPIENT_CODE.fullmatch(event.token.strip()):
        return _on_test_code(event)
    if event.kind == EventKind.BUTTON:
        return _on_button(event, event.payload)
    if event.kind == EventKind.TEXT:
        # Viber sends a reply button back as text equal to its payload.
        if survey_payload(event.text) is not None or reorder_payload(event.text) is not None:
            return _on_button(event, event.text)
        choice = numbered_choice(event)
        if choice:
            return _on_button(event, choice)
        return _on_text(event)
    return []


def _on_button(event: InboundEvent, payload: str) -> list[Reply]:
    reorder = reorder_payload(payload)
    if reorder is not None:
        delivery_id, kind = reorder
        text = reorder_request(
            account_id=event.account_id,
            platform_user_id=event.platform_user_id,
            delivery_id=delivery_id,
            kind=kind,
        )
        return [Reply(event.platform_user_id, RichMessage(text=text))] if text else []
    parsed = survey_payload(payload)
    if parsed is None:
        return []
    delivery_id, score = parsed
    answer = survey_answer(
        account_id=event.account_id,
        platform_user_id=event.platform_user_id,
        delivery_id=delivery_id,
        score=score,
    )
    if answer is None:  # someone else's survey (or none): say nothing, change nothing
        return []
    text = comment_prompt(answer.delivery)
    return [Reply(event.platform_user_id, RichMessage(text=text))]


def numbered_choice(event: InboundEvent) -> str:
    """On a channel of numbered choices (SMS), the payload a reply like "2" picks in the last
    message sent to this customer there; "" when it is not such a reply."""
    text = event.text.strip()
    if (
        not (text.isdigit() and len(text) <= 2)
        or not PROVIDERS[event.account.kind].numbered_replies
    ):
        return ""
    last = (
        Delivery.objects.filter(
            account_id=event.account_id,
            subscription__platform_user_id=event.platform_user_id,
            state=Delivery.State.SENT,
        )
        .select_related("campaign", "subscription__customer", "order", "account")
        .order_by("-sent_at", "-pk")
        .first()
    )
    if last is None:
        return ""
    message = delivery_message(last)
    payloads = [b.payload for b in (*message.buttons, *message.quick_replies) if not b.url]
    number = int(text)
    return payloads[number - 1] if 1 <= number <= len(payloads) else ""


def _on_text(event: InboundEvent) -> list[Reply]:
    answer = survey_comment(
        account_id=event.account_id, platform_user_id=event.platform_user_id, text=event.text
    )
    if answer is None:
        return []
    text = reply_text(COMMENT_THANKS, answer.delivery.subscription)
    return [Reply(event.platform_user_id, RichMessage(text=text))]


def _on_test_code(event: InboundEvent) -> list[Reply]:
    """A marketer opened a test recipient's link: this chat is the recipient now."""
    recipient = TestRecipient.objects.filter(code=event.token.strip()).first()
    if recipient is None or not test_recipient_link(recipient=recipient):
        text = "This test link is unknown or expired: make a new test recipient in admin."
    elif (recipient.account_id, recipient.platform_user_id) != (
        event.account_id,
        event.platform_user_id,
    ):
        text = "This test link is already used by another chat."
    else:
        text = "Linked: test sends of Comeback campaigns will come to this chat."
    return [Reply(event.platform_user_id, RichMessage(text=text))]
