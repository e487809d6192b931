"""How many SMS segments a text takes, as the carriers count them (3GPP TS 23.038).

A text fits the GSM 7-bit alphabet (basic set; the extension table's characters take two
septets, as they travel behind an escape) or it goes as UCS-2, counted in UTF-16 code units: a
character outside the Basic Multilingual Plane (most emoji) takes two. One segment holds 160
septets or 70 units; a longer text is split into segments of 153 septets or 67 units (the rest
of each carries the concatenation header), and an extension character is never split from its
escape. Twilio (https://www.twilio.com/docs/glossary/what-sms-character-limit) and SMS.ru
(https://sms.ru/price) bill by these segments.
"""

from dataclasses import dataclass

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = set("^{}\\[~]|€\f")
SINGLE = {"GSM-7": 160, "UCS-2": 70}
CONCATENATED = {"GSM-7": 153, "UCS-2": 67}


@dataclass(frozen=True)
class Segments:
    encoding: str  # "GSM-7" or "UCS-2"
    count: int
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)


def count(text: str) -> Segments:
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        sizes = [2 if ch in GSM7_EXTENSION else 1 for ch in text]
        encoding = "GSM-7"
    else:
        sizes = [2 if ord(ch) > 0xFFFF else 1 for ch in text]  # a surrogate pair
        encoding = "UCS-2"
    units = sum(sizes)
    if units <= SINGLE[encoding]:
        return Segments(encoding, 1 if units else 0, units)
    # Fill segments without splitting a character's units across two of them.
    per, segments, used = CONCATENATED[encoding], 1, 0
    for size in sizes:
        if used + size > per:
            segments, used = segments + 1, 0
        used += size
    return Segments(encoding, segments, units)
