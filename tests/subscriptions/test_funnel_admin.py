"""The funnel's admin page: the bars and tables as funnel_figures() has them, and its CSV."""

import csv
import io
import re

import pytest

from tests.subscriptions.api_support import api_fixture, api_key_fixture  # noqa: F401
from tests.subscriptions.test_funnel import funnel  # noqa: F401 - the `funnel` fixture

pytestmark = pytest.mark.django_db
URL = "/admin/subscriptions/subscription/funnel/"


def test_it_draws_a_bar_per_step_and_a_table_per_dimension(admin_client, funnel):  # noqa: F811
    response = admin_client.get(URL + "?days=30")

    assert response.status_code == 200
    html = response.content.decode()
    values = [int(v) for v in re.findall(r'<g data-step="\d" data-value="(\d+)">', html)]
    assert values == [4, 4, 3, 3, 0]
    assert "1.5\u00d7 as many subscribe in a messenger as opt into e-mail" in html
    assert "Order confirmation e-mail" in html and "QR scan" in html and "whatsapp" in html


def test_it_exports_the_figures_as_csv(admin_client, funnel):  # noqa: F811
    response = admin_client.get(URL + "?days=30&format=csv")

    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[1] == ["total", "", "4", "4", "3", "3", "0", "0"]
    assert ["source", "qr_scan", "", "1", "1", "1", "0", "0"] in rows
    assert ["messenger", "telegram", "", "", "2", "2", "0", "0"] in rows
    assert rows[-1] == ["times_email", "", "1.5"]


def test_it_is_not_for_someone_without_view_permission(client, django_user_model):
    user = django_user_model.objects.create_user("clerk", password="x", is_staff=True)
    client.force_login(user)

    assert client.get(URL).status_code == 403


def test_the_subscriptions_list_links_to_the_funnel(admin_client):
    html = admin_client.get("/admin/subscriptions/subscription/").content.decode()

    assert f'href="{URL}"' in html
