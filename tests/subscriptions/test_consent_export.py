import csv
import io
from datetime import UTC, datetime

import pytest

from subscriptions.consent_export import COLUMNS, consent_csv
from subscriptions.models import ConsentEvent
from tests.factories import ChannelAccountFactory, CustomerFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


def _rows(queryset) -> list[list[str]]:
    return list(csv.reader(io.StringIO("".join(consent_csv(queryset)))))


def test_it_writes_one_row_per_event_with_every_column():
    # given
    customer = CustomerFactory(external_id="C-77")
    account = ChannelAccountFactory(kind="vk", name="shop-vk")
    subscription = SubscriptionFactory(customer=customer, account=account, platform_user_id="42")
    at = datetime(2026, 11, 20, 7, 0, tzinfo=UTC)
    ConsentEvent.objects.create(
        customer=customer, subscription=subscription, kind="opt_in", source="deep_link",
        evidence="AQAAAAAAAAABaSAF", topics=["menu", "surveys"], occurred_at=at,
    )  # fmt: skip
    ConsentEvent.objects.create(customer=customer, kind="opt_out", source="api", occurred_at=at)

    # when
    rows = _rows(ConsentEvent.objects.all())

    # then
    assert rows == [
        COLUMNS,
        ["2026-11-20T07:00:00+00:00", "C-77", "shop-vk", "42", "opt_in", "deep_link",
         "AQAAAAAAAAABaSAF", "menu;surveys"],
        ["2026-11-20T07:00:00+00:00", "C-77", "", "", "opt_out", "api", "", ""],
    ]  # fmt: skip


def test_it_neutralises_cells_a_spreadsheet_would_run_as_formulas():
    customer = CustomerFactory(external_id="=HYPERLINK(1)")
    ConsentEvent.objects.create(
        customer=customer, kind="opt_out", source="keyword", evidence="@SUM"
    )
    ConsentEvent.objects.create(customer=customer, kind="opt_in", source="api", evidence="-42")

    rows = _rows(ConsentEvent.objects.all())

    assert [(row[1], row[6]) for row in rows[1:]] == [
        ("'=HYPERLINK(1)", "'@SUM"),
        ("'=HYPERLINK(1)", "-42"),
    ]


def test_it_exports_only_the_given_events_oldest_first():
    customer = CustomerFactory()
    later = ConsentEvent.objects.create(
        customer=customer, kind="opt_out", source="api",
        occurred_at=datetime(2026, 2, 1, tzinfo=UTC),
    )  # fmt: skip
    ConsentEvent.objects.create(
        customer=customer, kind="opt_in", source="api",
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    ConsentEvent.objects.create(customer=CustomerFactory(), kind="opt_in", source="api")

    rows = _rows(ConsentEvent.objects.filter(customer=customer))

    assert [row[4] for row in rows[1:]] == ["opt_in", "opt_out"]
    assert rows[-1][0] == later.occurred_at.isoformat()
