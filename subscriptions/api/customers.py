"""A customer's subscriptions and consent record, and leaving every channel at once."""

from django.http import HttpResponseBase
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from subscriptions.api import serializers as s
from subscriptions.api.base import ApiView, JsonErrorsNegotiation
from subscriptions.api.docs import errors
from subscriptions.consent_export import consent_csv_response, consents_of
from subscriptions.models import ConsentEvent, Customer
from subscriptions.services import customer_unsubscribe


class CustomerSubscriptionsApi(ApiView):
    needs_write_scope = True  # personal data or a subscribe token: not for read-only keys

    @extend_schema(
        operation_id="customers_subscriptions",
        tags=["customers"],
        summary="The customer's subscriptions, one per channel account",
        responses={200: s.SubscriptionOut(many=True)} | errors(401, 404),
    )
    def get(self, request: Request, external_id: str) -> Response:
        customer = get_object_or_404(Customer, external_id=external_id)
        subscriptions = customer.subscriptions.select_related("account").order_by(
            "subscribed_at", "id"
        )
        return Response(s.SubscriptionOut(subscriptions, many=True).data)


class CustomerUnsubscribeApi(ApiView):
    @extend_schema(
        operation_id="customers_unsubscribe",
        tags=["customers"],
        summary="Unsubscribe the customer from every channel",
        description="Records an opt-out (source `api`) for each active subscription.",
        request=None,
        responses={200: s.UnsubscribeOut} | errors(401, 404),
    )
    def post(self, request: Request, external_id: str) -> Response:
        customer = get_object_or_404(Customer, external_id=external_id)
        count = customer_unsubscribe(customer=customer, source="api")
        return Response(s.UnsubscribeOut({"unsubscribed": count}).data)


class CustomerConsentsApi(ApiView):
    needs_write_scope = True  # personal data or a subscribe token: not for read-only keys

    @extend_schema(
        operation_id="customers_consents",
        tags=["customers"],
        summary="The customer's consent log, oldest first",
        responses={200: s.ConsentOut(many=True)} | errors(401, 404),
    )
    def get(self, request: Request, external_id: str) -> Response:
        customer = get_object_or_404(Customer, external_id=external_id)
        events = consents_of(ConsentEvent.objects.filter(customer=customer))
        return Response(s.ConsentOut(events, many=True).data)


class ConsentsCsvApi(ApiView):
    needs_write_scope = True  # personal data or a subscribe token: not for read-only keys

    # The answer is CSV whatever Accept says; errors are JSON like everywhere else.
    content_negotiation_class = JsonErrorsNegotiation

    @extend_schema(
        operation_id="consents_csv",
        tags=["consents"],
        summary="Export the consent log as CSV",
        description="Columns: occurred_at, customer_external_id, channel, platform_user_id, "
        "kind, source, evidence, topics (separated by ';').",
        parameters=[s.ConsentFilterIn],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="The CSV file.")
        }
        | errors(400, 401, 404, negotiated=False),
    )
    def get(self, request: Request) -> HttpResponseBase:
        filters = s.ConsentFilterIn(data=request.query_params)
        filters.is_valid(raise_exception=True)
        events = ConsentEvent.objects.all()
        if "customer" in filters.validated_data:
            external_id = filters.validated_data["customer"]
            events = events.filter(customer=get_object_or_404(Customer, external_id=external_id))
        if "since" in filters.validated_data:
            events = events.filter(occurred_at__gte=filters.validated_data["since"])
        return consent_csv_response(events)
