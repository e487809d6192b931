"""The shop's answer to a reorder the customer asked for in the chat: confirm or decline."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from campaigns.api.views import Conflict
from campaigns.models import Reorder
from campaigns.reorders import ReorderDecided, reorder_decide
from subscriptions.api.base import ApiView
from subscriptions.api.docs import errors
from subscriptions.api.serializers import ErrorOut

NOT_FOUND = {404: OpenApiResponse(ErrorOut, description='No such reorder: {"detail": ...}.')}
DECIDED = {
    409: OpenApiResponse(ErrorOut, description='Already decided the other way: {"detail": ...}.')
}


class ConfirmIn(serializers.Serializer):
    order_external_id = serializers.CharField(
        max_length=100, help_text="The shop's new order (post it to /orders/ as usual)."
    )
    message = serializers.CharField(
        max_length=500, required=False, allow_blank=True,
        help_text="Added to what the customer is told, e.g. the delivery day.",
    )  # fmt: skip


class DeclineIn(serializers.Serializer):
    message = serializers.CharField(
        max_length=500, required=False, allow_blank=True,
        help_text="Why, in the customer's language; added to what they are told.",
    )  # fmt: skip


class ReorderOut(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    last_order_external_id = serializers.CharField(
        source="last_order.external_id", allow_null=True, default=None
    )
    message = serializers.CharField(source="note")

    class Meta:
        model = Reorder
        fields = [
            "id", "kind", "state", "items", "last_order_external_id", "requested_at",
            "decided_at", "order_external_id", "message",
        ]  # fmt: skip
        read_only_fields = fields


def _decide(public_id: str, *, confirmed: bool, data: dict) -> Response:
    get_object_or_404(Reorder, public_id=public_id)
    try:
        reorder, _ = reorder_decide(
            public_id=public_id,
            confirmed=confirmed,
            order_external_id=data.get("order_external_id", ""),
            note=data.get("message", ""),
        )
    except ReorderDecided as exc:
        raise Conflict(str(exc)) from None
    return Response(ReorderOut(reorder).data)


class ReorderConfirmApi(ApiView):
    @extend_schema(
        operation_id="reorders_confirm",
        summary="Confirm a reorder the customer asked for in the chat",
        description="The customer is told in their language, in the chat they asked in, once: "
        "the same confirmation again answers as the first (a retry); a declined one is a 409.",
        request=ConfirmIn,
        responses={200: ReorderOut} | errors(400, 401, 413, 415) | NOT_FOUND | DECIDED,
    )
    def post(self, request: Request, public_id: str) -> Response:
        incoming = ConfirmIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        return _decide(public_id, confirmed=True, data=incoming.validated_data)


class ReorderDeclineApi(ApiView):
    @extend_schema(
        operation_id="reorders_decline",
        summary="Decline a reorder the customer asked for in the chat",
        description="The customer is told, once; a confirmed one is a 409.",
        request=DeclineIn,
        responses={200: ReorderOut} | errors(400, 401, 413, 415) | NOT_FOUND | DECIDED,
    )
    def post(self, request: Request, public_id: str) -> Response:
        incoming = DeclineIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        return _decide(public_id, confirmed=False, data=incoming.validated_data)
