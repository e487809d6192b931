"""One screen for one customer, as a marketer needs it: their chats and topics, consent
history, deliveries with reasons in words, survey answers, clicks and attributed orders."""

from typing import Any

from campaigns.models import Attribution, Delivery, LinkClick, SurveyAnswer
from campaigns.phrases import reason_phrase
from subscriptions.models import ConsentEvent, Customer, Subscription

LATEST = 50


def customer_overview(customer: Customer) -> dict[str, Any]:
    deliveries = list(
        Delivery.objects.filter(subscription__customer=customer)
        .select_related("campaign", "account")
        .order_by("-created_at")[:LATEST]
    )
    return {
        "customer": customer,
        "chats": [
            {"subscription": s, "topics": ", ".join(s.topics()) or "none"}
            for s in Subscription.objects.filter(customer=customer).select_related("account")
        ],
        "consents": ConsentEvent.objects.filter(customer=customer)
        .select_related("subscription__account")
        .order_by("-occurred_at")[:LATEST],
        "deliveries": [(d, reason_phrase(d.reason)) for d in deliveries],
        "answers": SurveyAnswer.objects.filter(delivery__subscription__customer=customer)
        .select_related("delivery__campaign", "order")
        .order_by("-answered_at")[:LATEST],
        "clicks": LinkClick.objects.filter(delivery__subscription__customer=customer)
        .select_related("delivery__campaign")
        .order_by("-clicked_at")[:LATEST],
        "attributions": Attribution.objects.filter(order__customer=customer)
        .select_related("order", "delivery__campaign")
        .order_by("-attributed_at")[:LATEST],
    }
