from django.contrib import admin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path
from django.views.defaults import page_not_found
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from health.views import healthz

urlpatterns = [
    path("", include("channels.urls")),
    path("", include("subscriptions.urls")),
    path("api/v1/", include("subscriptions.api.urls")),
    path("", include("campaigns.urls")),
    path("api/v1/", include("campaigns.api.urls")),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404s under /api/ speak JSON like the rest of the API; pages keep the HTML one."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)


handler404 = not_found
