"""Charts as server-side SVG: no JavaScript library, no CDN, and they print.

Two shapes cover the stats pages: horizontal bars (a value per label: channels, score
distribution, time-to-open buckets) and columns over days (one or two series). Every mark
carries a <title> with its exact value, so a hover shows it and tests can read it.
"""

from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

BAR = "#417690"  # Django admin's blue
SECOND = "#e5a03d"
TEXT = "#333"


def bars(items: Sequence[tuple[str, float]], *, unit: str = "", width: int = 420) -> SafeString:
    """One horizontal bar per (label, value)."""
    row, label_w, top = 22, 120, 4
    height = top + row * len(items) + 4
    most = max((value for _, value in items), default=0) or 1
    span = width - label_w - 60
    parts = [_open(width, height)]
    for i, (label, value) in enumerate(items):
        y = top + i * row
        w = max(span * value / most, 1 if value else 0)
        shown = f"{_number(value)}{unit}"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{escape(label)}</text>'
            f'<rect class="cb-mark" x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 6}"'
            f' fill="{BAR}"><title>{escape(label)}: {shown}</title></rect>'
            f'<text x="{label_w + w + 4:.1f}" y="{y + 15}">{shown}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - labels escaped, the rest is ours


def columns(
    days: Sequence[str],
    series: dict[str, Sequence[float]],
    *,
    width: int = 640,
    height: int = 180,
) -> SafeString:
    """Columns per day; up to two series side by side (e.g. sent and read)."""
    left, bottom, top = 40, 24, 8
    plot_h = height - bottom - top
    most = max((v for values in series.values() for v in values), default=0) or 1
    slot = (width - left - 4) / max(len(days), 1)
    names = list(series)[:2]
    bar_w = max(slot / (len(names) + 0.5), 1)
    parts = [_open(width, height)]
    parts.append(f'<text x="{left - 4}" y="{top + 10}" text-anchor="end">{_number(most)}</text>')
    parts.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width}" y2="{top + plot_h}"'
                 f' stroke="#999"/>')  # fmt: skip
    for i, day in enumerate(days):
        x0 = left + i * slot
        for j, name in enumerate(names):
            value = series[name][i]
            h = plot_h * value / most
            color = BAR if j == 0 else SECOND
            parts.append(
                f'<rect class="cb-mark" x="{x0 + j * bar_w:.1f}" y="{top + plot_h - h:.1f}"'
                f' width="{bar_w * 0.9:.1f}" height="{h:.1f}" fill="{color}">'
                f"<title>{escape(day)} {escape(name)}: {_number(value)}</title></rect>"
            )
        if len(days) <= 12 or i % max(len(days) // 8, 1) == 0:
            parts.append(f'<text x="{x0:.1f}" y="{height - 6}">{escape(day[5:])}</text>')
    for j, name in enumerate(names):
        color = BAR if j == 0 else SECOND
        x = width - 150 + j * 75
        parts.append(f'<rect x="{x}" y="2" width="10" height="10" fill="{color}"/>'
                     f'<text x="{x + 14}" y="11">{escape(name)}</text>')  # fmt: skip
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - labels escaped, the rest is ours


def _open(width: int, height: int) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="cb-chart" width="{width}"'
        f' height="{height}" viewBox="0 0 {width} {height}" role="img"'
        f' font-family="sans-serif" font-size="11" fill="{TEXT}">'
    )


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
