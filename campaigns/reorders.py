# ruff: noqa: RUF001 - Russian and Ukrainian text uses Cyrillic letters that look Latin
"""Ordering again from the chat: the weekly menu's "Order for next week" and "Repeat my last
order" buttons, the shop's answer through the order API, and what the customer is told.

A press is a button payload "reorder:<delivery>:<next_week|repeat>", accepted only from that
delivery's own subscriber (the payload is not secret). It makes one open Reorder per chat
(pressing again while one is open says so, nothing new is asked), tells the shop
(`reorder.requested`, signed like every webhook) and answers the customer in their language.
The shop confirms (with its new order's id) or declines (with a reason); the customer hears
either once, through the chat they asked in.
"""

import re
from functools import partial

from django.db import IntegrityError, transaction
from django.utils import timezone

from campaigns.models import Delivery, Reorder
from campaigns.surveys import reply_text
from channels.messages import RichMessage
from shopwebhooks.emit import emit
from shopwebhooks.models import EventType
from subscriptions.models import Order, Subscription

PAYLOAD = re.compile(r"^reorder:(\d{1,18}):(next_week|repeat)$")
ASKED = {
    "en": "We've asked the shop to {what}. You'll hear from us here as soon as they confirm.",
    "ru": "Мы передали магазину вашу просьбу: {what}. Как только подтвердят, напишем здесь.",
    "uk": "Ми передали магазину ваше прохання: {what}. Щойно підтвердять, напишемо тут.",
}
WHAT = {
    Reorder.Kind.NEXT_WEEK: {
        "en": "put together your order for next week",
        "ru": "собрать заказ на следующую неделю",
        "uk": "зібрати замовлення на наступний тиждень",
    },
    Reorder.Kind.REPEAT: {
        "en": "repeat your last order",
        "ru": "повторить ваш последний заказ",
        "uk": "повторити ваше останнє замовлення",
    },
}
ALREADY = {
    "en": "Your request is already with the shop: we'll write as soon as they answer.",
    "ru": "Ваша просьба уже у магазина: напишем, как только ответят.",
    "uk": "Ваше прохання вже в магазині: напишемо, щойно дадуть відповідь.",
}
NO_ORDER = {
    "en": "We can't find an earlier order of yours to repeat. The menu is on our site.",
    "ru": "Не нашли вашего прошлого заказа, чтобы его повторить. Меню — на нашем сайте.",
    "uk": "Не знайшли вашого попереднього замовлення, щоб його повторити. Меню — на нашому сайті.",
}
CONFIRMED = {
    "en": "Done! Your order {order} is confirmed.",
    "ru": "Готово! Ваш заказ {order} подтверждён.",
    "uk": "Готово! Ваше замовлення {order} підтверджено.",
}
DECLINED = {
    "en": "Sorry, the shop couldn't take this order.",
    "ru": "К сожалению, магазин не смог принять этот заказ.",
    "uk": "На жаль, магазин не зміг прийняти це замовлення.",
}


class ReorderDecided(Exception):
    """The reorder was already decided the other way (a replay or a contradiction)."""


def reorder_payload(payload: str) -> tuple[int, str] | None:
    match = PAYLOAD.match(payload.strip())
    return (int(match.group(1)), match.group(2)) if match else None


def reorder_request(
    *, account_id: int, platform_user_id: str, delivery_id: int, kind: str
) -> str | None:
    """Ask the shop to order again for the button's presser; the text to answer them (None when
    the delivery is not theirs: say nothing, change nothing)."""
    delivery = (
        Delivery.objects.select_related("subscription__customer", "account")
        .filter(
            pk=delivery_id, account_id=account_id, subscription__platform_user_id=platform_user_id
        )
        .first()
    )
    if delivery is None:
        return None
    subscription = delivery.subscription
    last = (
        Order.objects.filter(customer=subscription.customer)
        .exclude(status=Order.Status.CANCELLED)
        .order_by("-placed_at", "-pk")
        .first()
    )
    if last is None:
        return reply_text(NO_ORDER, subscription)
    items = [
        {"sku": i.sku, "name": i.name, "quantity": i.quantity, "price": str(i.price)}
        for i in last.items.order_by("pk")
    ]
    try:
        with transaction.atomic():
            reorder = Reorder.objects.create(
                kind=kind, subscription=subscription, delivery=delivery, last_order=last,
                items=items,
            )  # fmt: skip
            emit(EventType.REORDER_REQUESTED, _event_data(reorder, subscription, last))
    except IntegrityError:  # one is open for this chat already
        return reply_text(ALREADY, subscription)
    what = reply_text(WHAT[Reorder.Kind(kind)], subscription)
    return reply_text(ASKED, subscription).format(what=what)


def _event_data(reorder: Reorder, subscription: Subscription, last: Order) -> dict:
    return {
        "reorder_id": str(reorder.public_id),
        "kind": reorder.kind,
        "customer_external_id": subscription.customer.external_id,
        "last_order_external_id": last.external_id,
        "currency": last.currency,
        "items": reorder.items,
        "channel": subscription.account.kind,
        "campaign_id": reorder.delivery.campaign_id if reorder.delivery else None,
        "requested_at": reorder.requested_at.isoformat(),
        "confirm_url": f"/api/v1/reorders/{reorder.public_id}/confirm/",
        "decline_url": f"/api/v1/reorders/{reorder.public_id}/decline/",
    }


def reorder_decide(
    *, public_id: str, confirmed: bool, order_external_id: str = "", note: str = ""
) -> tuple[Reorder, bool]:
    """Record the shop's answer and tell the customer once; (reorder, changed). The same answer
    again changes nothing (the shop's retry); the other answer raises ReorderDecided."""
    state = Reorder.State.CONFIRMED if confirmed else Reorder.State.DECLINED
    with transaction.atomic():
        reorder = (
            Reorder.objects.select_for_update()
            .select_related("subscription__customer")
            .get(public_id=public_id)
        )
        if reorder.state == state:
            return reorder, False
        if reorder.state != Reorder.State.REQUESTED:
            raise ReorderDecided(f"this reorder was already {reorder.state}")
        reorder.state, reorder.decided_at = state, timezone.now()
        reorder.order_external_id, reorder.note = order_external_id, note
        reorder.save(update_fields=["state", "decided_at", "order_external_id", "note"])
        subscription = reorder.subscription
        text = (
            reply_text(CONFIRMED, subscription).format(order=order_external_id)
            if confirmed
            else reply_text(DECLINED, subscription)
        )
        if note:
            text = f"{text}\n{note}"
        message = RichMessage(text=text).to_dict()
        transaction.on_commit(
            partial(_tell, subscription.account_id, subscription.platform_user_id, message)
        )
    return reorder, True


def _tell(account_id: int, platform_user_id: str, message: dict) -> None:
    from channels.tasks import send_reply

    send_reply.delay(account_id, platform_user_id, message)
