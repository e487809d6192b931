"""Short tracked links for channels that pay by length (SMS: Provider.short_links).

The regular tracked link (/r/<signed>) carries its target and a signature, about ninety
characters; in an SMS that is most of a segment. A short link is /t/<8 random characters>,
stored with its delivery and target; opening it counts the click like the long one.
"""

import secrets
import string

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from campaigns.models import ShortLink
from campaigns.tracking import tracked_redirect

ALPHABET = string.ascii_letters + string.digits
LENGTH = 8  # 62**8, about 2e14 codes: not guessable at any rate a server answers


def short_link(*, delivery_id: int, url: str) -> str:
    """The delivery's short link to `url` (the same one each time it is asked for)."""
    found = ShortLink.objects.filter(delivery_id=delivery_id, url=url).first()
    while found is None:
        code = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
        try:
            with transaction.atomic():
                found = ShortLink.objects.create(code=code, delivery_id=delivery_id, url=url)
        except IntegrityError:  # the code was taken, or a concurrent call made the link
            found = ShortLink.objects.filter(delivery_id=delivery_id, url=url).first()
    return f"{settings.PUBLIC_BASE_URL}/t/{found.code}"


@require_safe
def short_link_open(request: HttpRequest, code: str) -> HttpResponse:
    """GET /t/<code>: count the click and redirect, as /r/ does; unknown -> friendly 404."""
    link = ShortLink.objects.select_related("delivery").filter(code=code).first()
    if link is None:
        context = {"shop_url": settings.SHOP_URL}
        return render(request, "campaigns/link_invalid.html", context, status=404)
    return tracked_redirect(request, link.delivery_id, link.url)
