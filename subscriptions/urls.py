from django.urls import path

from subscriptions.pages import views

app_name = "subscriptions"

urlpatterns = [
    path("s/embed.js", views.embed_js, name="embed-js"),
    # Tokens are A-Za-z0-9_- (subscriptions/tokens.py): exactly what <slug:> matches.
    path("s/<slug:token>/", views.subscribe_page, name="subscribe-page"),
]
