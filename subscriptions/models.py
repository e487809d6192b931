import hashlib
import secrets
from functools import cache
from typing import Any, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from channels.models import ChannelAccount

# Topics a customer can choose; service messages (order updates, replies) need none.
TOPICS = {
    "menu": "Menu updates",
    "surveys": "Surveys",
    "promotions": "Promotions",
}
TOPIC_FIELDS = {"menu": "wants_menu", "surveys": "wants_surveys", "promotions": "wants_promotions"}


@cache
def time_zone_names() -> frozenset[str]:
    """The IANA zone names. ZoneInfo() alone also opens any file under the zone directories
    ("localtime" is the host's own zone, different on every machine), so names are checked here.
    """
    return frozenset(available_timezones() - {"localtime", "posixrules", "Factory"})


def validate_time_zone(value: str) -> None:
    if value not in time_zone_names():
        raise ValidationError(f"{value!r} is not an IANA time zone")


class Customer(models.Model):
    """The shop's customer, known by the shop's own id."""

    external_id = models.CharField(max_length=100, unique=True)
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=32, blank=True)
    locale = models.CharField(max_length=10, default="en")
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Set by the erasure (subscriptions/privacy/erasure.py): the row stays for the orders and
    # the consent log that point at it, with nothing left that says who the person was.
    erased_at = models.DateTimeField(null=True, blank=True, editable=False)
    # A chat that subscribed from a link naming no customer (a QR in the box, an ad) gets a
    # stand-in customer; the customer's next order token, or an order with the same phone or
    # e-mail, moves the chat to the real one (subscriptions/services.py, subscription_adopt).
    is_anonymous = models.BooleanField(default=False, editable=False)

    class Meta:
        indexes = [
            # An order's phone or e-mail finds the stand-ins to adopt (e-mail kept lower case).
            models.Index(
                fields=["phone"], name="anonymous_customer_phone", condition=Q(is_anonymous=True)
            ),
            models.Index(
                fields=["email"], name="anonymous_customer_email", condition=Q(is_anonymous=True)
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.external_id

    @property
    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("UTC")


class Order(models.Model):
    class Status(models.TextChoices):
        CREATED = "created"
        PAID = "paid"
        DELIVERED = "delivered"
        CANCELLED = "cancelled"

    external_id = models.CharField(max_length=100, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    total = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.CREATED)
    placed_at = models.DateTimeField(help_text="When the customer placed it (the shop's time).")
    paid_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # The funnel's first step: when subscribe links were first handed out for this order.
    links_issued_at = models.DateTimeField(null=True, blank=True, editable=False)
    email_opt_in = models.BooleanField(
        null=True, blank=True, help_text="Did the customer opt into the shop's e-mail? (unknown)"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["customer", "placed_at"])]

    def __str__(self) -> str:
        return self.external_id


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    sku = models.CharField(max_length=100, db_index=True)
    name = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField(default=1)
    price = models.DecimalField(max_digits=12, decimal_places=2)

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"


class OrderEvent(models.Model):
    """An order event the shop posted; the campaign engine's triggers read these."""

    class Type(models.TextChoices):
        CREATED = "order.created"
        PAID = "order.paid"
        DELIVERED = "order.delivered"
        CANCELLED = "order.cancelled"

    event_id = models.CharField(max_length=100, unique=True, help_text="The shop's event id.")
    type = models.CharField(max_length=30, choices=Type.choices)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    occurred_at = models.DateTimeField()
    data = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    # Set once the campaign engine has fired the triggers that match it.
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["type", "occurred_at"]),
            # The campaign engine's queue: unfired events, oldest first, however many are fired.
            models.Index(
                fields=["id"], name="orderevent_unfired", condition=models.Q(processed_at=None)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.order_id} ({self.event_id})"


class Subscription(models.Model):
    """A customer reachable on one channel account as one platform user."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        UNSUBSCRIBED = "unsubscribed"
        BLOCKED = "blocked"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="subscriptions")
    account = models.ForeignKey(
        ChannelAccount, on_delete=models.PROTECT, related_name="subscriptions"
    )
    platform_user_id = models.CharField(max_length=255)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    wants_menu = models.BooleanField(default=True)
    wants_surveys = models.BooleanField(default=True)
    wants_promotions = models.BooleanField(default=True)
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.SET_NULL, help_text="Linked through."
    )
    source = models.CharField(max_length=50, blank=True, help_text="subscriptions/sources.py")
    attribution = models.CharField(
        max_length=200, blank=True, help_text="The campaign link's name (a box insert, an ad)."
    )
    device = models.CharField(max_length=10, blank=True, help_text="Of the subscribe page.")
    utm = models.JSONField(default=dict, blank=True, help_text="The link's utm_* tags.")
    visit = models.ForeignKey(
        "LinkVisit", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    locale = models.CharField(max_length=10, blank=True, help_text="Platform-reported language.")
    subscribed_at = models.DateTimeField(default=timezone.now)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    last_inbound_at = models.DateTimeField(
        null=True, blank=True, help_text="The customer's last message: opens platform windows."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "platform_user_id"], name="subscription_per_platform_user"
            ),
            # A customer is reached through one chat per account; chats that left stay as
            # history (see subscriptions/services.py, "the linking rule").
            models.UniqueConstraint(
                fields=["account", "customer"],
                condition=models.Q(status="active"),
                name="one_active_subscription_per_customer",
            ),
        ]
        indexes = [models.Index(fields=["account", "status"])]

    def __str__(self) -> str:
        return f"{self.customer} on {self.account.name} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    def topics(self) -> list[str]:
        return [topic for topic, field in TOPIC_FIELDS.items() if getattr(self, field)]

    def wants(self, topic: str) -> bool:
        return bool(getattr(self, TOPIC_FIELDS[topic]))


class LinkVisit(models.Model):
    """One opening of a subscribe link: the hosted page, or a redirect through /s/ straight to
    a messenger. Chats started from it carry a visit token (subscriptions/tokens.py, version 2)
    naming this row, which is how a subscription learns its source, device and UTM tags."""

    source = models.CharField(max_length=30)
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.CASCADE)
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.CASCADE)
    name = models.CharField(max_length=100, blank=True, help_text="A campaign link's name.")
    device = models.CharField(max_length=10, blank=True)
    utm = models.JSONField(default=dict, blank=True)
    # When the link itself was issued: a visit never makes a link live longer.
    link_issued_at = models.DateTimeField()
    opened_at = models.DateTimeField(default=timezone.now)
    # Buttons pressed on the page (or the direct redirect): counted, not a row each; the
    # messenger (account kind) of the latest press.
    redirects = models.PositiveIntegerField(default=0)
    channel = models.CharField(max_length=20, blank=True)

    class Meta:
        indexes = [models.Index(fields=["opened_at"])]

    def __str__(self) -> str:
        return f"{self.source} visit {self.pk} at {self.opened_at:%Y-%m-%d %H:%M}"


class AppendOnly(Exception):
    """An attempt to change or remove a consent event."""


class ConsentEventQuerySet(models.QuerySet):
    """Adds rows, never changes or removes them: the consent log is evidence."""

    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnly("consent events are append-only: no update()")

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> NoReturn:
        raise AppendOnly("consent events are append-only: no bulk_update()")

    def delete(self) -> NoReturn:
        raise AppendOnly("consent events are append-only: no delete()")

    delete.queryset_only = True  # type: ignore[attr-defined]  # as Django marks its own


class ConsentEvent(models.Model):
    """Append-only log of every consent change: the customer's whole story.

    Rows are only ever added: save() of a stored row, update(), bulk_update() and delete() all
    raise, and neither a customer nor a subscription with consent events can be deleted
    (PROTECT), so no cascade erases the log silently. Erasing a person (GDPR) needs a service
    of its own that decides what the log keeps.
    """

    class Kind(models.TextChoices):
        OPT_IN = "opt_in"
        OPT_OUT = "opt_out"
        TOPIC_CHANGE = "topic_change"
        BLOCKED = "blocked"
        UNBLOCKED = "unblocked"
        # A chat that subscribed without a customer (a QR in the box) is now this customer's.
        LINKED = "linked"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="consents")
    subscription = models.ForeignKey(
        Subscription, null=True, blank=True, on_delete=models.PROTECT, related_name="consents"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    source = models.CharField(max_length=50, help_text="deep_link, keyword, button, platform, api")
    evidence = models.CharField(
        max_length=255, blank=True, help_text="The token, keyword or platform signal behind it."
    )
    topics = models.JSONField(default=list, blank=True, help_text="Topics after the change.")
    occurred_at = models.DateTimeField(default=timezone.now)

    objects = ConsentEventQuerySet.as_manager()

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["customer", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.customer} {self.occurred_at:%Y-%m-%d %H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnly("consent events are append-only: a stored one cannot be saved")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnly("consent events are append-only: no delete()")


class ApiKey(models.Model):
    """A key for the shop's backend; only its hash is stored, the key is shown once."""

    PREFIX_LENGTH = 8

    class Scope(models.TextChoices):
        WRITE = "write", "Read and write (the shop's backend)"
        READ = "read", "Read only (stats, subscriptions, consents, exports)"

    name = models.CharField(max_length=100, unique=True)
    prefix = models.CharField(max_length=PREFIX_LENGTH, unique=True)
    key_hash = models.CharField(max_length=64)
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.WRITE)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @classmethod
    def issue(cls, name: str, scope: str = Scope.WRITE) -> tuple["ApiKey", str]:
        """Create a key; the plain key is returned only here."""
        key = secrets.token_urlsafe(32)
        api_key = cls.objects.create(
            name=name, prefix=key[: cls.PREFIX_LENGTH], key_hash=cls.hash(key), scope=scope
        )
        return api_key, key


class ErasureLog(models.Model):
    """One erased person: when, on whose request, and what was removed (counts only)."""

    customer = models.OneToOneField(Customer, on_delete=models.PROTECT, related_name="erasure")
    requested_by = models.CharField(max_length=150, help_text="e.g. api:shop, admin:alice")
    erased_at = models.DateTimeField(default=timezone.now)
    removed = models.JSONField(default=dict, help_text="Rows removed or blanked, by kind.")

    class Meta:
        ordering = ["-erased_at"]

    def __str__(self) -> str:
        return f"erasure of customer {self.customer_id} at {self.erased_at:%Y-%m-%d %H:%M}"


class ErasedIdentifier(models.Model):
    """A keyed hash (HMAC) of one identifier an erased person had: an e-mail, a phone, the
    shop's customer id or a chat. Who gives the identifier again can be told what the consent
    log holds about them; the hash alone names nobody."""

    erasure = models.ForeignKey(ErasureLog, on_delete=models.CASCADE, related_name="identifiers")
    digest = models.CharField(max_length=64, db_index=True)

    def __str__(self) -> str:
        return f"{self.digest[:12]}… (erasure {self.erasure_id})"
