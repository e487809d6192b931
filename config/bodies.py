"""The size a request says its body has, read the same way by every view that limits it."""

from django.http import HttpRequest


def declared_length(request: HttpRequest) -> int:
    """The request's Content-Length; 0 when absent or not a number (the body then speaks)."""
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0
