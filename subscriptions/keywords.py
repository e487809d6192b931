"""Words a customer may type instead of pressing a button, in every supported language."""

import re
from enum import StrEnum


class Keyword(StrEnum):
    STOP = "stop"
    SETTINGS = "settings"
    START = "start"


# Matched whole, after trimming, case-folding and dropping a leading "/" (Telegram commands,
# also "/stop@comeback_bot") and trailing punctuation. "cancel" is deliberately NOT a stop
# word: to a delivery shop's customer it usually means "cancel my order", not "never write again".
WORDS: dict[Keyword, frozenset[str]] = {
    Keyword.STOP: frozenset(
        # en (with the SMS industry's STOPALL / UNSUBSCRIBE / QUIT), ru, uk; the reflexive
        # "-сь" forms are as common in writing as "-ся"; "стоп" is both languages' word.
        {"stop", "stop all", "stopall", "stop it", "unsubscribe", "unsubscribe me", "unsub"}
        | {"opt out", "opt-out", "optout", "quit"}
        | {"стоп", "отписаться", "отписатся", "отпишись", "отписка", "отписать", "отпишите"}
        | {"отпишите меня", "отписываюсь"}
        | {"відписатися", "відписатись", "відпишись", "відписка", "відписати", "відпишіть"}
        | {"відпишіть мене", "відписуюсь", "відписуюся"}
    ),
    Keyword.SETTINGS: frozenset(
        {"settings", "preferences", "настройки", "налаштування", "параметри"}
    ),
    Keyword.START: frozenset(
        {"start", "subscribe", "resubscribe", "старт", "начать", "подписаться", "подпишись"}
        | {"почати", "підписатися", "підписатись", "підпишись"}
    ),
}
_LOOKUP = {word: keyword for keyword, words in WORDS.items() for word in words}
_COMMAND_BOT = re.compile(r"^/(\w+)@\w+$")


def keyword_match(text: str) -> Keyword | None:
    """The keyword `text` says, or None if it is anything else."""
    word = " ".join(text.split()).casefold().rstrip(".!")
    word = _COMMAND_BOT.sub(r"\1", word).removeprefix("/")
    return _LOOKUP.get(word)
