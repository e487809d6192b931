from django.urls import path

from subscriptions.pages import views

app_name = "subscriptions"

urlpatterns = [
    path("s/embed.js", views.embed_js, name="embed-js"),
    # Signed links carry a dot and base64url: <str:> (no slash inside).
    path("s/l/<str:code>/", views.link_page, name="link-page"),
    path("s/l/<str:code>/go/<int:account>/", views.link_redirect, name="link-redirect"),
    path("s/go/<slug:token>/<int:account>/", views.visit_redirect, name="visit-redirect"),
    path("s/<slug:token>/go/<int:account>/", views.order_redirect, name="order-redirect"),
    # Tokens are A-Za-z0-9_- (subscriptions/tokens.py): exactly what <slug:> matches.
    path("s/<slug:token>/", views.subscribe_page, name="subscribe-page"),
]
