from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib import admin
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path
from django.views.defaults import page_not_found
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from health.views import healthz


def docs_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """`view`, or a 404 while settings.API_DOCS_ENABLED is off (read on each request)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not settings.API_DOCS_ENABLED:
            raise Http404("API docs are off")
        return view(request, *args, **kwargs)

    return wrapped


urlpatterns = [
    path("", include("channels.urls")),
    path("", include("subscriptions.urls")),
    path("api/v1/", include("subscriptions.api.urls")),
    path("", include("campaigns.urls")),
    path("api/v1/", include("campaigns.api.urls")),
    path("healthz", healthz, name="healthz"),
    # ESPs' tracking webhooks (delivered, opened, bounced, complained), normalized by anymail.
    path("webhooks/anymail/", include("channels.providers.email.webhooks")),
    path("admin/", admin.site.urls),
    path("api/schema/", docs_view(SpectacularAPIView.as_view()), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline script for the CSP.
    path(
        "api/docs/",
        docs_view(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
]


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404s under /api/ speak JSON like the rest of the API; pages keep the HTML one."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)


handler404 = not_found
