"""Admin widgets and fields of the campaign form: the message builder, a duration as a number
and a unit, times of day from a list."""

import datetime as dt
import json
from typing import Any

from django import forms

from campaigns.builder import LABELS

DAYS = [(0, "Monday"), (1, "Tuesday"), (2, "Wednesday"), (3, "Thursday"), (4, "Friday"),
        (5, "Saturday"), (6, "Sunday")]  # fmt: skip
# Local send times in quarter hours: the weekly menu goes out at a round time.
TIMES = [(f"{h:02d}:{m:02d}", f"{h:02d}:{m:02d}") for h in range(24) for m in (0, 15, 30, 45)]
UNITS = [("minutes", "minutes"), ("hours", "hours"), ("days", "days")]


class MessageBuilderWidget(forms.Textarea):
    """Structured fields for every part of a message, per channel; the JSON textarea they
    write stays under "Advanced"."""

    template_name = "admin/campaigns/widgets/message_builder.html"

    class Media:
        js = ("campaigns/builder.js",)
        css = {"all": ("campaigns/builder.css",)}

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__(attrs={"rows": 8, "cols": 80, **(attrs or {})})

    def get_context(self, name: str, value: Any, attrs: dict | None) -> dict:
        context = super().get_context(name, value, attrs)
        context["slots_json"] = json.dumps(LABELS)
        return context


class DurationWidget(forms.MultiWidget):
    """A delay as a number and a unit ("3 hours"), not "03:00:00"."""

    def __init__(self, attrs: dict | None = None) -> None:
        widgets = [
            forms.NumberInput(attrs={"min": 0, "style": "width: 6rem"}),
            forms.Select(choices=UNITS),
        ]
        super().__init__(widgets, attrs)

    def decompress(self, value: dt.timedelta | None) -> list:
        if not value:
            return [0, "hours"]
        seconds = int(value.total_seconds())
        if seconds % 86400 == 0:
            return [seconds // 86400, "days"]
        if seconds % 3600 == 0:
            return [seconds // 3600, "hours"]
        return [seconds // 60, "minutes"]


class DurationField(forms.MultiValueField):
    widget = DurationWidget

    def __init__(self, **kwargs: Any) -> None:
        fields = (forms.IntegerField(min_value=0), forms.ChoiceField(choices=UNITS))
        super().__init__(fields=fields, require_all_fields=False, **kwargs)

    def compress(self, data_list: list) -> dt.timedelta:
        if not data_list or data_list[0] in (None, ""):
            return dt.timedelta()
        amount, unit = data_list
        return dt.timedelta(**{unit or "hours": int(amount)})


class OrderedChoicesWidget(forms.MultiWidget):
    """A few selects side by side: first choice, second, third."""

    def __init__(self, choices: list, size: int, attrs: dict | None = None) -> None:
        super().__init__([forms.Select(choices=choices) for _ in range(size)], attrs)

    def decompress(self, value: list | None) -> list:
        return list(value or [])


class OrderedChoicesField(forms.MultiValueField):
    """An ordered list of distinct choices, picked in `size` selects; blanks drop out."""

    def __init__(self, choices: list, size: int = 3, **kwargs: Any) -> None:
        blank = [("", "—"), *choices]
        fields = [forms.ChoiceField(choices=blank, required=False) for _ in range(size)]
        super().__init__(
            fields=fields,
            widget=OrderedChoicesWidget(blank, size),
            require_all_fields=False,
            **kwargs,
        )

    def compress(self, data_list: list) -> list:
        picked = [value for value in data_list or [] if value]
        if len(set(picked)) != len(picked):
            raise forms.ValidationError("Pick each channel once.")
        return picked
