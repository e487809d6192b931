"""Error responses as the OpenAPI schema documents them: one description per status."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse

from subscriptions.api.serializers import ErrorOut

DESCRIPTIONS = {
    400: "Invalid input: field name -> list of messages (nested for nested fields), or "
    '{"detail": ...} for a body that is not JSON.',
    401: 'No API key, or a wrong or revoked one (`WWW-Authenticate: Api-Key`): {"detail": ...}.',
    404: 'No such external id: {"detail": ...}.',
    409: 'The event id was used before with a different body: {"detail": ...}.',
    413: 'Body over the size limit (settings.DATA_UPLOAD_MAX_MEMORY_SIZE): {"detail": ...}.',
    415: 'Content-Type is not application/json: {"detail": ...}.',
    403: 'A read-only API key on an operation it may not use: {"detail": ...}.',
    406: "Accept names no type the operation answers (it answers application/json): "
    '{"detail": ...}.',
    429: 'Over the key\'s rate (API_KEY_RATE); `Retry-After` says when to retry: {"detail": ...}.',
}


def errors(*statuses: int, negotiated: bool = True) -> dict[int, OpenApiResponse]:
    """The documented error responses of an operation; one that needs a key (401) may also
    answer 403 (a read-only key), 429 (the key's rate) and, unless it answers one type
    whatever Accept says (`negotiated=False`), 406."""
    if 401 in statuses:
        statuses = (*statuses, 403, 429, *((406,) if negotiated else ()))
    return {status: _response(status) for status in sorted(set(statuses))}


def _response(status: int) -> OpenApiResponse:
    if status == 400:
        return OpenApiResponse(
            OpenApiTypes.OBJECT,
            description=DESCRIPTIONS[400],
            examples=[
                OpenApiExample(
                    "Field errors",
                    value={"external_id": ["This field is required."]},
                    status_codes=[400],
                )
            ],
        )
    return OpenApiResponse(ErrorOut, description=DESCRIPTIONS[status])
