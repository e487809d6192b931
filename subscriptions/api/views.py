"""Orders and order events: what the shop's backend posts."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from subscriptions.api import serializers as s
from subscriptions.api.base import ApiView
from subscriptions.api.docs import errors
from subscriptions.api.event_batches import order_events_receive
from subscriptions.api.services import OrderCustomerMismatch, order_upsert
from subscriptions.links import order_subscribe_offer
from subscriptions.models import Order


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "Conflict."
    default_code = "conflict"


class OrderUpsertApi(ApiView):
    @extend_schema(
        operation_id="orders_upsert",
        tags=["orders"],
        summary="Create or update an order (idempotent by external_id)",
        description="Upserts the customer and the order; `items`, when given, replace the "
        "order's items. Answers the order with fresh subscribe links for every enabled channel. "
        "`customer.locale` takes any language code; pages and messages speak en, ru and uk and "
        "fall back to English for the rest.",
        request=s.OrderIn,
        responses={200: s.OrderWithLinksOut, 201: s.OrderWithLinksOut} | errors(400, 401, 413, 415),
    )
    def post(self, request: Request) -> Response:
        incoming = s.OrderIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        try:
            order, created = order_upsert(data=incoming.validated_data)
        except OrderCustomerMismatch:
            message = "The order belongs to another customer; it cannot be moved."
            raise ValidationError({"customer": {"external_id": [message]}}) from None
        body = s.OrderOut(order).data | s.SubscribeLinksOut(order_subscribe_offer(order)).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class OrderSubscribeLinksApi(ApiView):
    needs_write_scope = True  # personal data or a subscribe token: not for read-only keys

    @extend_schema(
        operation_id="orders_subscribe_links",
        tags=["orders"],
        summary="Fresh subscribe links for an order",
        responses={200: s.SubscribeLinksOut} | errors(401, 404),
    )
    def get(self, request: Request, external_id: str) -> Response:
        order = get_object_or_404(Order, external_id=external_id)
        return Response(s.SubscribeLinksOut(order_subscribe_offer(order)).data)


class EventReceiveApi(ApiView):
    @extend_schema(
        operation_id="events_receive",
        tags=["events"],
        summary="Record an order event (idempotent by event_id)",
        description="Moves the order on (status only forward: created, paid, delivered; "
        "cancelled is final; each timestamp keeps its first report) and hands the event to the "
        "campaign engine. A repeat of an event_id with the same body answers exactly as the "
        "first time and changes nothing; with a different body it is a 409. An unknown "
        "`order_external_id` is a 400 naming that field (the event, not the URL, is at fault): "
        "post the order first.",
        request=s.EventIn,
        responses={201: s.EventOut} | errors(400, 401, 409, 413, 415),
    )
    def post(self, request: Request) -> Response:
        # A batch of one: the same statement, and the same answer as in a batch.
        [answer] = order_events_receive([s.event_validated(request.data)])
        if answer.status == status.HTTP_409_CONFLICT:
            raise Conflict(answer.errors["detail"])
        if answer.status != status.HTTP_201_CREATED:
            raise ValidationError(answer.errors)
        # Created or a faithful repeat: the same answer either way, so retries are safe.
        return Response(s.EVENT_OUT.to_representation(answer.event), status=status.HTTP_201_CREATED)
