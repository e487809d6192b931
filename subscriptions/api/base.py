"""The base of every /api/v1/ view: API-key auth, JSON in and out, bodies size-checked first."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from config.bodies import declared_length
from subscriptions.api.auth import ApiKeyAuthentication, ApiKeyRateThrottle, HasApiKey


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body too large."
    default_code = "payload_too_large"


class JsonParser(JSONParser):
    """DRF's JSON parser, but JSON nested past Python's recursion limit is a 400, not a 500."""

    def parse(self, stream, media_type=None, parser_context=None) -> object:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None


class ApiView(APIView):
    """One operation per view; subclasses set the serializers and implement the method."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasApiKey]
    throttle_classes = [ApiKeyRateThrottle]
    # JSON only: a form or multipart body is answered 415, not half-parsed.
    parser_classes = [JsonParser]
    renderer_classes = [JSONRenderer]

    def initial(self, request: Request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)  # authentication first: 401 before 413
        if declared_length(request) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            raise PayloadTooLarge(
                f"Request body over {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
            )

    def handle_exception(self, exc: Exception) -> HttpResponse:
        # Django's own guard (no Content-Length, or a body read elsewhere) says 400 by default.
        if isinstance(exc, RequestDataTooBig):
            exc = PayloadTooLarge()
        return super().handle_exception(exc)


class JsonErrorsNegotiation(DefaultContentNegotiation):
    """Errors are JSON whatever the client accepts; a CSV view answers CSV by itself."""

    def select_renderer(self, request: Request, renderers: list, format_suffix=None) -> tuple:
        return renderers[0], renderers[0].media_type
