"""Hypothesis strategies for the render tests: messages of every shape in mixed scripts."""

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from channels.messages import Button, Card, RichMessage

# Text from several scripts at once: Latin, Cyrillic, RTL Hebrew and Arabic with direction
# marks, emoji with skin tones and ZWJ sequences, markup and JSON-escaped characters.
MIXED = "aZ 09\n!?<>&\"'\\ Привет שלום مرحبا \u200f\u202e 😀🍲👍🏽👩‍👩‍👧 é"
IMAGES = st.sampled_from(["", "https://cdn.test/menu.jpg"])


def pieces(alphabet: str = MIXED) -> SearchStrategy[str]:
    """Short texts from `alphabet` or any other character that can be text.

    Lone surrogates cannot: JSON bodies and the database never hold them.
    """
    return st.text(
        alphabet=st.sampled_from(alphabet) | st.characters(exclude_categories=("Cs",)),
        max_size=40,
    )


def repeated(strings: SearchStrategy[str], low: int, high: int) -> SearchStrategy[str]:
    """A string from `strings` repeated `low` to `high` times: long, and cheap to generate."""
    return st.builds(lambda s, n: s * n, strings, st.integers(low, high))


def mixed_texts(alphabet: str = MIXED) -> SearchStrategy[str]:
    """Short pieces, or pieces repeated well past every platform's text limit."""
    piece = pieces(alphabet)
    return st.one_of(piece, repeated(piece, 1, 600))


def mixed_labels(alphabet: str = MIXED, max_size: int = 60) -> SearchStrategy[str]:
    """Button labels of at least one character from `alphabet`."""
    return st.text(alphabet=st.sampled_from(alphabet), min_size=1, max_size=max_size)


def button_tuples(
    *,
    labels: SearchStrategy[str],
    payloads: SearchStrategy[str],
    max_size: int = 9,
    reply_labels: SearchStrategy[str] | None = None,
) -> SearchStrategy[tuple[Button, ...]]:
    """Up to `max_size` reply and URL buttons in any mix (reply labels default to `labels`)."""
    reply = st.builds(
        Button, text=labels if reply_labels is None else reply_labels, payload=payloads
    )
    url = st.builds(Button, text=labels, url=st.just("https://shop.test/o?x=1"))
    return st.lists(reply | url, max_size=max_size).map(tuple)


def rich_messages(
    *,
    texts: SearchStrategy[str],
    labels: SearchStrategy[str],
    max_cards: int,
    reply_labels: SearchStrategy[str] | None = None,
) -> SearchStrategy[RichMessage]:
    """Any message: text, image, buttons, quick replies and up to `max_cards` cards."""
    buttons = button_tuples(labels=labels, payloads=texts, reply_labels=reply_labels)
    card_buttons = button_tuples(
        labels=labels, payloads=texts, max_size=5, reply_labels=reply_labels
    )
    cards = st.builds(Card, title=texts, subtitle=texts, image_url=IMAGES, buttons=card_buttons)
    return st.builds(
        RichMessage,
        text=texts,
        image_url=IMAGES,
        buttons=buttons,
        quick_replies=buttons,
        cards=st.lists(cards, max_size=max_cards).map(tuple),
    )
