# ruff: noqa: RUF001 - Russian and Ukrainian text uses Cyrillic letters that look Latin
"""Campaigns a marketer starts from ("New from template"): the weekly menu and the order
survey, written in English (the default), Russian and Ukrainian."""

import datetime as dt
from typing import Any

SCORES = [{"text": "★" * n, "payload": f"survey:{{delivery}}:{n}"} for n in (5, 4, 3, 2, 1)]


def _menu(text: str, menu: str, later: str, next_week: str, repeat: str) -> dict[str, Any]:
    return {
        "default": {
            "text": text,
            "buttons": [
                {"text": menu, "url": "{link}"},
                # campaigns/reorders.py: the shop is asked, and confirms through the API.
                {"text": next_week, "payload": "reorder:{delivery}:next_week"},
                {"text": repeat, "payload": "reorder:{delivery}:repeat"},
            ],
            "quick_replies": [{"text": later, "payload": "menu:later"}],
        }
    }


def _survey(text: str, prompt: str) -> dict[str, Any]:
    return {"default": {"text": text, "buttons": SCORES, "comment_prompt": prompt}}


STARTERS: dict[str, dict[str, Any]] = {
    "weekly_menu": {
        "label": "Weekly menu",
        "fields": {
            "name": "Weekly menu",
            "kind": "recurring",
            "category": "marketing",
            "topic": "menu",
            "weekday": 4,
            "local_time": dt.time(11, 0),
            "content": _menu(
                "Hi {name}! Next week's menu is ready. Order by Sunday to get it from Monday.",
                "See the menu",
                "Remind me later",
                "Order for next week",
                "Repeat my last order",
            ),
            "content_ru": _menu(
                "{name}, меню на следующую неделю готово! Закажите до воскресенья — привезём "
                "с понедельника.",
                "Смотреть меню",
                "Напомнить позже",
                "На следующую неделю",
                "Повторить заказ",
            ),
            "content_uk": _menu(
                "{name}, меню на наступний тиждень готове! Замовте до неділі — привеземо з "
                "понеділка.",
                "Дивитися меню",
                "Нагадати пізніше",
                "На наступний тиждень",
                "Повторити замовлення",
            ),
        },
    },
    "survey": {
        "label": "Order survey",
        "fields": {
            "name": "How was your order?",
            "kind": "triggered",
            "category": "survey",
            "trigger_event": "order.delivered",
            "trigger_delay": dt.timedelta(hours=3),
            "content": _survey(
                "{name}, how was your order {order} ({items})? Tap a score:",
                "Thanks! What should we do better? Just type it.",
            ),
            "content_ru": _survey(
                "{name}, как вам заказ {order} ({items})? Оцените:",
                "Спасибо! Что нам сделать лучше? Просто напишите.",
            ),
            "content_uk": _survey(
                "{name}, як вам замовлення {order} ({items})? Оцініть:",
                "Дякуємо! Що нам зробити краще? Просто напишіть.",
            ),
        },
    },
}
