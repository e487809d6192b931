"""SMS segment counts (channels/providers/sms/segments.py) against the carriers' rules as Twilio
and SMS.ru document them: GSM-7 160 / 153 septets, extension characters two septets and never
split from their escape; UCS-2 70 / 67 UTF-16 units, a character beyond the BMP two units."""

import pytest

from channels.providers.sms.segments import count


@pytest.mark.parametrize(
    ("text", "encoding", "segments", "units"),
    [
        ("", "GSM-7", 0, 0),
        ("a" * 160, "GSM-7", 1, 160),  # exactly one segment
        ("a" * 161, "GSM-7", 2, 161),  # 153 + 8
        ("a" * 306, "GSM-7", 2, 306),  # 153 * 2
        ("a" * 307, "GSM-7", 3, 307),
        ("€" + "a" * 158, "GSM-7", 1, 160),  # € is ESC + e: 2 + 158 = 160
        ("€" + "a" * 159, "GSM-7", 2, 161),
        # 152 septets, then [ (2): 154 > 153, so [ opens segment 2 whole: 152 | 2 + 8
        ("a" * 152 + "[" + "a" * 8, "GSM-7", 2, 162),
        ("Ваш заказ готов", "UCS-2", 1, 15),  # Cyrillic: UCS-2
        ("Б" * 70, "UCS-2", 1, 70),
        ("Б" * 71, "UCS-2", 2, 71),  # 67 + 4
        ("Б" * 134, "UCS-2", 2, 134),  # 67 * 2
        ("Б" * 135, "UCS-2", 3, 135),
        ("😀" * 35, "UCS-2", 1, 70),  # an emoji is a surrogate pair: 2 units
        # 36 emoji = 72 units > 70: per segment 67 units hold 33 whole pairs (66): 33 + 3
        ("😀" * 36, "UCS-2", 2, 72),
        ("Hello 👋", "UCS-2", 1, 8),  # one emoji makes the whole text UCS-2
        ("Menu: Borscht, Varenyky", "GSM-7", 1, 23),
        ("Café à la carte", "GSM-7", 1, 15),  # é and à are in the GSM basic set
        ("Ça va", "GSM-7", 1, 5),  # capital Ç is; a lower-case ç would not be
        ("ça va", "UCS-2", 1, 5),
    ],
)
def test_segment_counts_follow_the_documented_rules(text, encoding, segments, units):
    result = count(text)
    assert (result.encoding, result.count, result.units) == (encoding, segments, units)
