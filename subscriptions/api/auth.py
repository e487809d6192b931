"""API-key authentication for the shop's backend: `Authorization: Api-Key <key>`."""

import hmac
import logging
import re
from datetime import timedelta

import redis
from django.conf import settings
from django.core.cache import caches
from django.db.models import Q
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions, throttling
from rest_framework.request import Request

from config.recent_rows import RecentRows
from config.wakeups import redis_client
from subscriptions.models import ApiKey

log = logging.getLogger(__name__)
KEYWORD = "Api-Key"
# last_used_at is for "is this key still in use?", not an audit log: one write a minute is plenty.
KEY_FORMAT = re.compile(r"[A-Za-z0-9_-]{16,100}")
LAST_USED_RESOLUTION = timedelta(minutes=1)
KEY_CACHE_SECONDS = 5.0
# A third of an order event's cost at the API was this look-up.
_keys: RecentRows[ApiKey | None] = RecentRows(KEY_CACHE_SECONDS)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """Find the key by its prefix, compare the hash in constant time, refuse revoked keys."""

    def authenticate(self, request: Request) -> tuple[None, ApiKey] | None:
        scheme, _, key = request.headers.get("Authorization", "").strip().partition(" ")
        if scheme.lower() != KEYWORD.lower():
            return None  # no key given: HasApiKey answers 401 "not provided"
        key = key.strip()
        # Keys are token_urlsafe text; anything else (NUL bytes, say) is not worth a query.
        well_formed = KEY_FORMAT.fullmatch(key) is not None
        prefix = key[: ApiKey.PREFIX_LENGTH]
        api_key = _by_prefix(prefix) if well_formed else None
        # Compare even when no key matched the prefix, so timing does not tell prefixes apart.
        expected = api_key.key_hash if api_key else ApiKey.hash("")
        if not hmac.compare_digest(expected, ApiKey.hash(key)) or api_key is None:
            raise exceptions.AuthenticationFailed("Invalid API key.")
        if api_key.revoked:
            raise exceptions.AuthenticationFailed("API key revoked.")
        _touch(api_key)
        # No Django user stands behind a key: request.user stays None, request.auth is the key.
        return None, api_key

    def authenticate_header(self, request: Request) -> str:
        return KEYWORD


class HasApiKey(permissions.BasePermission):
    """Allow only requests that ApiKeyAuthentication accepted; a read-only key only reads, and
    not from views marked `needs_write_scope` (personal data, subscribe tokens)."""

    message = "This API key is read-only: it reads campaigns and their stats."

    def has_permission(self, request: Request, view: object) -> bool:
        if not isinstance(request.auth, ApiKey):
            return False
        if request.auth.scope == ApiKey.Scope.READ:
            # Reads of campaigns and their figures; not what names customers or links them.
            reads = request.method in permissions.SAFE_METHODS
            return reads and not getattr(view, "needs_write_scope", False)
        return True


class ApiKeyRateThrottle(throttling.SimpleRateThrottle):
    """settings.API_KEY_RATE requests per key, counted in Redis (shared by every web process),
    or without Redis in this process's "throttle" cache.

    A fixed window counted with the cache's atomic increment: DRF's sliding window reads a list
    of timestamps and writes it back, which lets concurrent requests of other processes through
    uncounted and costs a pickled list of up to the whole rate per request. A client may get
    up to twice the rate across a window's edge.
    """

    scope = "api_key"
    cache = caches["throttle"]

    def get_rate(self) -> str:
        return settings.API_KEY_RATE

    def get_cache_key(self, request: Request, view: object) -> str | None:
        if not isinstance(request.auth, ApiKey):
            return None  # refused by the permission before it counts
        # The prefix, not the pk: random, so keys of other databases (test runs) never share it.
        return f"throttle:api_key:{request.auth.prefix}"

    def allow_request(self, request: Request, view: object) -> bool:
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        now = self.timer()  # SimpleRateThrottle's clock (time.time), patchable in tests
        window = int(now // self.duration)
        used = self._count(f"{key}:{window}")
        self.retry_in = (window + 1) * self.duration - now
        return used <= self.num_requests

    def _count(self, counter: str) -> int:
        client = redis_client()
        if client is not None:
            # One round trip: the cache API's add, then incr (which checks the key exists
            # first), was three per request.
            name = f"comeback:{counter}"
            pipe = client.pipeline(transaction=False)
            pipe.incr(name)
            pipe.expire(name, int(self.duration) + 1, nx=True)
            try:
                return int(pipe.execute()[0])
            except redis.RedisError as error:
                # Nothing to count with: let the request through. Turning the shop's events
                # away costs more than a moment without a rate limit.
                log.warning("API rate limit not counted, Redis unreachable: %s", error)
                return 0
        self.cache.add(counter, 0, timeout=self.duration + 1)
        try:
            return self.cache.incr(counter)
        except ValueError:  # expired between the two calls: this request opens it
            self.cache.add(counter, 1, timeout=self.duration + 1)
            return 1

    def wait(self) -> float:
        return self.retry_in


def _by_prefix(prefix: str) -> ApiKey | None:
    """The key with this prefix, read at most every KEY_CACHE_SECONDS per process. A key revoked
    in another process stops working here within that time; saved in this one, at once."""
    return _keys.get(prefix, lambda: ApiKey.objects.filter(prefix=prefix).first())


@receiver([post_save, post_delete], sender=ApiKey)
def forget_keys(**_: object) -> None:
    _keys.forget()


def _touch(api_key: ApiKey) -> None:
    now = timezone.now()
    stale = now - LAST_USED_RESOLUTION
    if api_key.last_used_at is not None and api_key.last_used_at > stale:
        return
    # Conditional, so concurrent requests of the same minute write at most once between them.
    ApiKey.objects.filter(Q(last_used_at__isnull=True) | Q(last_used_at__lte=stale)).filter(
        pk=api_key.pk
    ).update(last_used_at=now)
    api_key.last_used_at = now  # the cached copy: the next minute's requests write nothing


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = "ApiKey"

    def get_security_definition(self, auto_schema: object) -> dict:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`; create one with `manage.py create_api_key NAME`.",
        }
