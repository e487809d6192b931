"""The consent log as CSV: one export for the API (/api/v1/consents.csv) and the admin action."""

import csv
import re
from collections.abc import Iterator
from datetime import UTC

from django.db.models import QuerySet
from django.http import StreamingHttpResponse

from subscriptions.models import ConsentEvent

COLUMNS = [
    "occurred_at",
    "customer_external_id",
    "channel",
    "platform_user_id",
    "kind",
    "source",
    "evidence",
    "topics",
]
# A cell starting with one of these is run as a formula by spreadsheet apps (CSV injection);
# the customer types some of these values (keywords), so they are neutralised with a quote.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def consents_of(queryset: QuerySet[ConsentEvent]) -> QuerySet[ConsentEvent]:
    """The events in export order, with what the rows need fetched in the same query."""
    return queryset.select_related("customer", "subscription__account").order_by(
        "occurred_at", "id"
    )


def consent_rows(queryset: QuerySet[ConsentEvent]) -> Iterator[list[str]]:
    """The header, then one row per consent event, oldest first."""
    yield COLUMNS
    for event in consents_of(queryset).iterator(chunk_size=2000):
        subscription = event.subscription
        yield [
            event.occurred_at.astimezone(UTC).isoformat(),
            _cell(event.customer.external_id),
            _cell(subscription.account.name if subscription else ""),
            _cell(subscription.platform_user_id if subscription else ""),
            event.kind,
            _cell(event.source),
            _cell(event.evidence),
            ";".join(str(topic) for topic in event.topics or []),
        ]


def consent_csv(queryset: QuerySet[ConsentEvent]) -> Iterator[str]:
    """The CSV text, a line at a time (so a large log streams instead of filling memory)."""
    writer = csv.writer(_Line())
    return (writer.writerow(row) for row in consent_rows(queryset))


def consent_csv_response(
    queryset: QuerySet[ConsentEvent], filename: str = "consents.csv"
) -> StreamingHttpResponse:
    response = StreamingHttpResponse(consent_csv(queryset), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _cell(value: str) -> str:
    if value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


class _Line:
    """A file-like object that hands back what csv.writer writes, instead of storing it."""

    def write(self, value: str) -> str:
        return value
