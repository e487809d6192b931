"""Subscribe links without an order: for a known customer (the shop's account page, its
e-mails' footer) and for nobody in particular (a QR code printed in the box, an ad)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from subscriptions import sources
from subscriptions.api.base import ApiView
from subscriptions.api.docs import errors
from subscriptions.links import signed_link_url
from subscriptions.models import Customer


class CustomerLinkIn(serializers.Serializer):
    source = serializers.ChoiceField(
        choices=sorted(sources.CUSTOMER_SOURCES), default=sources.ACCOUNT_PAGE
    )


class CampaignLinkIn(serializers.Serializer):
    source = serializers.ChoiceField(choices=sorted(sources.CAMPAIGN_SOURCES))
    name = serializers.SlugField(max_length=100, help_text="e.g. box-insert-2026, spring-ad")


class LinkOut(serializers.Serializer):
    url = serializers.URLField(
        help_text="The signed subscribe page; add utm_* parameters as you like."
    )
    source = serializers.CharField()


class CustomerSubscribeLinkApi(ApiView):
    needs_write_scope = True  # a link that subscribes a chat as this customer

    @extend_schema(
        operation_id="customers_subscribe_link",
        tags=["customers"],
        summary="A signed subscribe link for a known customer, without an order",
        description="For the shop's account page or its e-mails' footer. Valid "
        "TOKEN_MAX_AGE_DAYS; a chat that starts from it is linked to the customer.",
        parameters=[CustomerLinkIn],
        responses={200: LinkOut} | errors(400, 401, 404),
        examples=[
            OpenApiExample(
                "Account page",
                value={
                    "url": "https://comeback.example/s/l/eyJzIjoiYWNjb3VudF9wYWdlIn0.sig/",
                    "source": "account_page",
                },
                response_only=True,
            )
        ],
    )
    def get(self, request: Request, external_id: str) -> Response:
        incoming = CustomerLinkIn(data=request.query_params)
        incoming.is_valid(raise_exception=True)
        customer = get_object_or_404(Customer, external_id=external_id, erased_at=None)
        source = incoming.validated_data["source"]
        url = signed_link_url(source=source, customer=customer)
        return Response(LinkOut({"url": url, "source": source}).data)


class CampaignSubscribeLinkApi(ApiView):
    @extend_schema(
        operation_id="subscribe_links_campaign",
        tags=["orders"],
        summary="A signed subscribe link naming no customer: a printed QR code, an ad",
        description="Never expires (it may be printed). A chat that starts from it subscribes "
        "without a customer until the customer's next order token, or an order with the "
        "same phone or e-mail, links it.",
        request=CampaignLinkIn,
        responses={200: LinkOut} | errors(400, 401),
        examples=[
            OpenApiExample(
                "Box insert",
                value={"source": "qr_scan", "name": "box-insert-2026"},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        incoming = CampaignLinkIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        url = signed_link_url(source=data["source"], name=data["name"])
        return Response(LinkOut({"url": url, "source": data["source"]}).data)
