"""anymail's ESP webhook URLs, refused outright until ANYMAIL_WEBHOOK_SECRET is set.

anymail checks the basic-auth secret when one is configured but, without one, only warns and
accepts anything: a forged "bounced" would then block a customer's address. So every one of
its views answers 403 while no secret is set.
"""

from collections.abc import Callable
from functools import wraps

from anymail import urls as anymail_urls
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.urls import URLPattern
from django.views.decorators.csrf import csrf_exempt


def _secured(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @csrf_exempt
    @wraps(view)
    def guarded(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not settings.ANYMAIL.get("WEBHOOK_SECRET"):
            return HttpResponseForbidden("ANYMAIL_WEBHOOK_SECRET is not set")
        return view(request, *args, **kwargs)

    return guarded


def _guarded(pattern: URLPattern) -> URLPattern:
    return URLPattern(
        pattern.pattern, _secured(pattern.callback), pattern.default_args, pattern.name
    )


app_name = "anymail"
urlpatterns = [_guarded(p) for p in anymail_urls.urlpatterns]
