"""WhatsApp templates outside the 24 h window, at the fake platform over real HTTP."""

import pytest

from channels.errors import RejectedByPolicy
from channels.messages import Button, RichMessage
from channels.providers.base import SendOptions

WA_ID = "16505551234"
SURVEY = RichMessage(text="How was your order?", buttons=(Button("5", payload="survey:41:5"),))
SCORES = ("survey:41:5", "survey:41:3", "survey:41:1")


@pytest.fixture
def provider(account_on):
    return account_on("whatsapp").provider()


def _outside(
    template: str = "order_survey", params: tuple[str, ...] = (), buttons: tuple[str, ...] = ()
) -> SendOptions:
    return SendOptions(
        outside_window=True, template=template, template_params=params,
        template_buttons=buttons, language="uk",
    )  # fmt: skip


def test_it_sends_the_template_with_body_parameters_and_quick_reply_payloads(
    provider, fake_platform
):
    # when a survey goes outside the window as the approved template, with the customer's name
    provider.send(WA_ID, SURVEY, _outside(params=("Olena", "2 x Borscht"), buttons=SCORES))

    # then the platform got the template, its body's {{1}} {{2}}, and one payload per
    # quick-reply button in order, so a press comes back as the survey answer
    [request] = fake_platform.requests_for("whatsapp")
    assert request.answered == 200
    assert request.json["type"] == "template"
    assert request.json["template"] == {
        "name": "order_survey",
        "language": {"code": "uk"},
        "components": [
            {
                "type": "body",
                "parameters": [
                    {"type": "text", "text": "Olena"},
                    {"type": "text", "text": "2 x Borscht"},
                ],
            },
            *(
                {
                    "type": "button",
                    "sub_type": "quick_reply",
                    "index": str(index),
                    "parameters": [{"type": "payload", "payload": payload}],
                }
                for index, payload in enumerate(SCORES)
            ),
        ],
    }
    assert "text" not in request.json  # nothing else of the message goes


def test_it_sends_a_template_without_parameters_bare(provider, fake_platform):
    # (the message's own buttons never become template components: the template has its own)
    provider.send(WA_ID, SURVEY, _outside(template="weekly_menu"))

    [request] = fake_platform.requests_for("whatsapp")
    assert request.json["template"] == {"name": "weekly_menu", "language": {"code": "uk"}}


def test_it_makes_each_parameter_acceptable_to_meta(provider, fake_platform):
    # given values with new lines, tabs, long runs of spaces, and an empty one
    params = ("Borscht\nVarenyky\tPie", "a      b", "")

    provider.send(WA_ID, RichMessage(text="x"), _outside(params=params))

    [request] = fake_platform.requests_for("whatsapp")
    [body] = request.json["template"]["components"]
    assert [p["text"] for p in body["parameters"]] == ["Borscht Varenyky Pie", "a    b", "-"]


def test_it_refuses_outside_the_window_without_a_template(provider, fake_platform):
    with pytest.raises(RejectedByPolicy, match="no approved template"):
        provider.send(WA_ID, SURVEY, _outside(template=""))
    assert fake_platform.requests_for("whatsapp") == []
