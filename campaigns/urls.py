from django.urls import path

from campaigns import short_links, tracking

app_name = "campaigns"

urlpatterns = [
    # No trailing slash: the signed value never contains one (see campaigns/tracking.py).
    path("r/<str:signed>", tracking.link_open, name="link"),
    path("t/<str:code>", short_links.short_link_open, name="short-link"),
]
