"""`POST /api/v1/events/batch/`: up to 1,000 order events in one request."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from subscriptions.api import serializers as s
from subscriptions.api.base import ApiView
from subscriptions.api.docs import errors
from subscriptions.api.event_batches import MAX_EVENTS, Answer, order_events_receive


class BatchIn(serializers.Serializer):
    events = serializers.ListField(
        child=serializers.JSONField(allow_null=True),  # a null item fails alone, as any other
        min_length=1,
        max_length=MAX_EVENTS,
        help_text=f"1 to {MAX_EVENTS} events, each as `POST /api/v1/events/` takes it.",
    )


class BatchEventIn(BatchIn):
    """The documented shape; items are validated one by one so one bad event fails alone."""

    events = s.EventIn(many=True)


class AnswerOut(serializers.Serializer):
    index = serializers.IntegerField(help_text="The event's position in the request.")
    status = serializers.IntegerField(
        help_text="What `POST /api/v1/events/` would have answered for this event alone: 201 "
        "(stored now or a faithful repeat), 400 (see `errors`) or 409 (the event_id was used "
        "with a different body)."
    )
    created = serializers.BooleanField(help_text="Stored by this request (false for a repeat).")
    event = s.EventOut(required=False, help_text="With status 201.")
    errors = serializers.DictField(required=False, help_text="With 400 and 409.")


class BatchOut(serializers.Serializer):
    created = serializers.IntegerField()
    repeated = serializers.IntegerField()
    failed = serializers.IntegerField()
    results = AnswerOut(many=True)


EXAMPLE_OUT = {
    "created": 1,
    "repeated": 0,
    "failed": 1,
    "results": [
        {
            "index": 0,
            "status": 201,
            "created": True,
            "event": {
                "event_id": "evt-1001",
                "type": "order.delivered",
                "order_external_id": "2026/0042",
                "occurred_at": "2026-12-05T10:00:00Z",
                "data": {},
                "received_at": "2026-12-05T10:00:01.120000Z",
            },
        },
        {
            "index": 1,
            "status": 400,
            "created": False,
            "errors": {"order_external_id": ["This field is required."]},
        },
    ],
}


class EventBatchApi(ApiView):
    @extend_schema(
        operation_id="events_receive_batch",
        tags=["events"],
        summary=f"Record up to {MAX_EVENTS} order events at once (each idempotent by event_id)",
        description="For catching up: each event is stored and answered exactly as "
        "`POST /api/v1/events/` would, and one bad event fails alone (its own 400 or 409 in "
        "`results`, the others stored). The request answers 200 whenever the batch itself is "
        "well formed; a batch that is not (no `events` list, empty, or over the limit) is a "
        "400 naming `events`. Events of the same order are applied in the order they happened.",
        request=BatchEventIn,
        responses={200: BatchOut} | errors(400, 401, 413, 415),
        examples=[OpenApiExample("One stored, one invalid", value=EXAMPLE_OUT, response_only=True)],
    )
    def post(self, request: Request) -> Response:
        batch = BatchIn(data=request.data)
        batch.is_valid(raise_exception=True)
        items = [_validated(item) for item in batch.validated_data["events"]]
        answers = order_events_receive(items)
        results = [_result(i, answer) for i, answer in enumerate(answers)]
        return Response(
            {
                "created": sum(answer.created for answer in answers),
                "repeated": sum(answer.status == 201 and not answer.created for answer in answers),
                "failed": sum(answer.status != 201 for answer in answers),
                "results": results,
            }
        )


def _validated(item: dict) -> dict | Answer:
    try:
        return s.event_validated(item)
    except ValidationError as error:
        return Answer(400, errors=error.detail)


def _result(index: int, answer: Answer) -> dict:
    result = {"index": index, "status": answer.status, "created": answer.created}
    if answer.event is not None:
        result["event"] = s.EVENT_OUT.to_representation(answer.event)
    if answer.errors is not None:
        result["errors"] = answer.errors
    return result
