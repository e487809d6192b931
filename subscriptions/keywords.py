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
        # en, ru, uk
        {"stop", "unsubscribe", "stop all", "opt out", "optout"}
        | {"стоп", "отписаться", "отписка", "отписать", "отпишите"}
        | {"відписатися", "відписка", "відписати", "відпишіть"}
    ),
    Keyword.SETTINGS: frozenset(
        {"settings", "preferences", "настройки", "налаштування", "параметри"}
    ),
    Keyword.START: frozenset(
        {"start", "subscribe", "старт", "подписаться", "підписатися", "почати", "начать"}
    ),
}
_LOOKUP = {word: keyword for keyword, words in WORDS.items() for word in words}
_COMMAND_BOT = re.compile(r"^/(\w+)@\w+$")


def keyword_match(text: str) -> Keyword | None:
    """The keyword `text` says, or None if it is anything else."""
    word = " ".join(text.split()).casefold().rstrip(".!")
    word = _COMMAND_BOT.sub(r"\1", word).removeprefix("/")
    return _LOOKUP.get(word)
