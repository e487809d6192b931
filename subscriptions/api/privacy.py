"""A person's rights through the shop's backend: erase everything about them, or export it."""

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from subscriptions.api import serializers as s
from subscriptions.api.base import ApiView
from subscriptions.api.docs import errors
from subscriptions.models import Customer
from subscriptions.privacy.erasure import customer_erase, erasure_find
from subscriptions.privacy.export import customer_export


class CustomerEraseApi(ApiView):
    @extend_schema(
        operation_id="customers_erase",
        tags=["customers"],
        summary="Erase everything about the customer (idempotent)",
        description="Removes the customer's name, e-mail, phone, chat ids, messages, survey "
        "comments and clicks, ends every subscription and cancels pending messages; keeps "
        'orders, statistics and the consent log without the person (README, "Privacy and '
        'security"). A repeat with the same external id answers the first erasure again.',
        request=None,
        responses={200: s.ErasureOut} | errors(401, 404),
    )
    def post(self, request: Request, external_id: str) -> Response:
        customer = Customer.objects.filter(external_id=external_id).first()
        if customer is not None:
            log = customer_erase(customer=customer, requested_by=f"api:{request.auth.name}")
        else:
            log = erasure_find(external_id=external_id)
            if log is None:
                raise Http404
        return Response(s.ErasureOut(log).data)


class CustomerExportApi(ApiView):
    needs_write_scope = True  # personal data or a subscribe token: not for read-only keys

    @extend_schema(
        operation_id="customers_export",
        tags=["customers"],
        summary="Everything held about the customer, as one JSON document",
        description="The customer, orders with items and events, chats with topics, the "
        "consent history, every delivery with its state and reason, survey answers and link "
        "clicks.",
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT)} | errors(401, 404),
    )
    def get(self, request: Request, external_id: str) -> Response:
        customer = Customer.objects.filter(external_id=external_id).first()
        if customer is None:
            raise Http404
        return Response(customer_export(customer=customer))
