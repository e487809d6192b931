from django.contrib import admin
from django.urls import include, path
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
