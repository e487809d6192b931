"""Satisfaction surveys: score buttons, a typed comment after them, and low-score alerts.

A survey message carries reply buttons with payloads "survey:{delivery}:1" … ":5" (content.py
fills in {delivery}). A press is accepted only from the delivery's own subscriber (same account,
same platform user): the payload is not secret, so it must not let anyone score anyone's order.
"""

import datetime as dt
import logging
import re

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from campaigns.content import content_for
from campaigns.models import Delivery, SurveyAnswer
from campaigns.staff_chats import staff_chats_tell
from shopwebhooks.emit import emit
from shopwebhooks.models import EventType
from subscriptions.keywords import keyword_match
from subscriptions.models import Subscription
from subscriptions.replies import language

log = logging.getLogger(__name__)
PAYLOAD = re.compile(r"^survey:(\d{1,18}):([1-5])$")
THANKS = {
    "en": "Thanks — anything to add? Just type it.",
    "ru": "Спасибо! Хотите что-нибудь добавить? Просто напишите.",
    "uk": "Дякуємо! Бажаєте щось додати? Просто напишіть.",
}
COMMENT_THANKS = {
    "en": "Thank you, we've passed it on to the team.",
    "ru": "Спасибо, мы передали ваш отзыв команде.",
    "uk": "Дякуємо, ми передали ваш відгук команді.",
}


def survey_payload(payload: str) -> tuple[int, int] | None:
    """(delivery id, score) from a survey button payload, or None if it is not one."""
    match = PAYLOAD.match(payload.strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


@transaction.atomic
def survey_answer(
    *, account_id: int, platform_user_id: str, delivery_id: int, score: int
) -> SurveyAnswer | None:
    """Store (or update: one answer per delivery) the score; None if not the subscriber's own."""
    delivery = (
        # Locks the delivery only: two quick presses on one survey are applied one after another.
        Delivery.objects.select_for_update(of=("self",))
        .filter(
            pk=delivery_id,
            account_id=account_id,
            subscription__platform_user_id=platform_user_id,
        )
        .first()
    )
    if delivery is None:
        return None
    now = timezone.now()
    answer = SurveyAnswer.objects.filter(delivery=delivery).order_by("pk").first()
    if answer is None:
        answer = SurveyAnswer(delivery=delivery, order_id=delivery.order_id, items=_skus(delivery))
    answer.score, answer.answered_at = score, now
    answer.save()
    if delivery.answered_at is None:
        delivery.answered_at = now
        delivery.save(update_fields=["answered_at"])
    emit(EventType.SURVEY_ANSWERED, answer_data(answer))
    return answer


def answer_data(answer: SurveyAnswer) -> dict:
    """What the shop's webhooks carry about an answer."""
    delivery = answer.delivery
    return {
        "answer_id": answer.pk,
        "score": answer.score,
        "comment": answer.comment,
        "customer_external_id": delivery.subscription.customer.external_id,
        "order_external_id": answer.order.external_id if answer.order else None,
        "items": answer.items,
        "campaign_id": delivery.campaign_id,
        "channel": delivery.account.kind,
        "answered_at": answer.answered_at.isoformat(),
    }


def _skus(delivery: Delivery) -> list[str]:
    if delivery.order_id is None:
        return []
    return list(delivery.order.items.order_by("pk").values_list("sku", flat=True))  # type: ignore[union-attr]


def survey_comment(
    *, account_id: int, platform_user_id: str, text: str, now: dt.datetime | None = None
) -> SurveyAnswer | None:
    """Attach `text` to the sender's answer of the last SURVEY_COMMENT_HOURS, if there is one.

    Keywords (STOP, settings, …) and our own payloads are commands, never comments.
    """
    text = text.strip()
    if not text or text.startswith("sub:") or keyword_match(text) is not None:
        return None
    since = (now or timezone.now()) - dt.timedelta(hours=settings.SURVEY_COMMENT_HOURS)
    with transaction.atomic():
        answer = (
            SurveyAnswer.objects.select_for_update()
            .filter(
                delivery__account_id=account_id,
                delivery__subscription__platform_user_id=platform_user_id,
                delivery__subscription__status=Subscription.Status.ACTIVE,
                answered_at__gte=since,
            )
            .order_by("-answered_at", "-pk")
            .first()
        )
        if answer is None:
            return None
        # Several messages in a row are one comment, in the order they were written.
        answer.comment = f"{answer.comment}\n{text}" if answer.comment else text
        answer.save(update_fields=["comment"])
    return answer


def reply_text(texts: dict[str, str], subscription: Subscription) -> str:
    return texts[language(subscription.customer.locale, subscription.locale)]


def comment_prompt(delivery: Delivery) -> str:
    """What the customer reads after tapping a score: the campaign's own prompt in the message
    they got (`comment_prompt`, per language and channel like the message), else ours."""
    subscription = delivery.subscription
    _, message = content_for(delivery.campaign, delivery.account.kind, subscription.customer.locale)
    prompt = message.get("comment_prompt") if isinstance(message, dict) else None
    if isinstance(prompt, str) and prompt.strip():
        return prompt.strip()
    return reply_text(THANKS, subscription)


# --- low-score alerts ---------------------------------------------------------------------------
# Answers older than this are never alerted, so configuring SURVEY_ALERT_EMAIL later does not
# flood the shop with last year's scores.
ALERT_MAX_AGE = dt.timedelta(days=7)


def survey_alerts_send(*, now: dt.datetime | None = None) -> int:
    """Tell the shop each low score once: after the customer commented, or after the grace
    period for a comment (SURVEY_ALERT_GRACE_MINUTES), so one alert carries both. It goes as a
    `survey.low_score` webhook event, and by e-mail (SURVEY_ALERT_EMAIL) and to staff chats
    (SURVEY_ALERT_CHATS) where those are set."""
    now = now or timezone.now()
    quiet_since = now - dt.timedelta(minutes=settings.SURVEY_ALERT_GRACE_MINUTES)
    due = (
        SurveyAnswer.objects.filter(
            score__lte=settings.SURVEY_LOW_SCORE,
            alerted_at__isnull=True,
            answered_at__gte=now - ALERT_MAX_AGE,
        )
        .filter(Q(answered_at__lte=quiet_since) | ~Q(comment=""))
        .values_list("pk", flat=True)[:100]
    )
    sent = 0
    for pk in list(due):
        with transaction.atomic():
            # Claim first (a conditional update): two ticks at once tell each answer once.
            claimed = SurveyAnswer.objects.filter(pk=pk, alerted_at__isnull=True)
            if not claimed.update(alerted_at=now):
                continue
            answer = SurveyAnswer.objects.select_related(
                "delivery__subscription__customer", "delivery__account", "delivery__campaign",
                "order",
            ).get(pk=pk)  # fmt: skip
            emit(EventType.SURVEY_LOW_SCORE, answer_data(answer))
        subject, body = alert_message(answer)
        # The webhook event is stored; e-mail and chats are best effort, each on its own.
        if settings.SURVEY_ALERT_EMAIL:
            try:
                send_mail(subject, body, None, settings.SURVEY_ALERT_EMAIL)
            except Exception:
                log.exception("low-score alert e-mail for answer %s not sent", pk)
        staff_chats_tell(f"{subject}\n\n{body}")
        sent += 1
    return sent


def alert_message(answer: SurveyAnswer) -> tuple[str, str]:
    """Subject and plain-text body of the low-score e-mail."""
    delivery = answer.delivery
    customer = delivery.subscription.customer
    order = answer.order
    items = list(order.items.order_by("pk")) if order else []
    lines = [
        f"Score: {answer.score}/5",
        f"Comment: {answer.comment or '(none yet)'}",
        "",
        f"Customer: {customer.name or '-'} (id {customer.external_id})",
        f"E-mail: {customer.email or '-'}  Phone: {customer.phone or '-'}",
        f"Channel: {delivery.account.name} ({delivery.account.kind})",
        f"Survey: {delivery.campaign.name}",
        f"Order: {order.external_id} ({order.total} {order.currency})" if order else "Order: -",
        "Items:",
        *([f"  - {i.sku} {i.name} x {i.quantity}" for i in items] or [f"  - {answer.items}"]),
        "",
        settings.PUBLIC_BASE_URL + reverse("admin:campaigns_surveyanswer_change", args=[answer.pk]),
    ]
    subject = f"Low score {answer.score}/5 from {customer.name or customer.external_id}"
    return subject, "\n".join(lines)
