"""Did the messages bring customers back? The difference of two repeat-purchase rates, with an
honest interval and a verdict in plain words.

Interval: Newcombe's hybrid Wilson score method for a difference of independent proportions
(Newcombe 1998, "Interval estimation for the difference between independent proportions",
Statistics in Medicine 17, method 10): each rate gets its Wilson score interval, and the
difference's limits combine the distances from each rate to its own limits. It behaves at zero
conversions and with small groups, where the textbook Wald interval collapses or overshoots.

"Not yet measurable" uses the usual sample size for comparing two proportions (normal
approximation, two-sided 5% level, 80% power) to say how many more customers the holdout needs
for a difference of `DETECTABLE` points to be told from chance.
"""

import math
from dataclasses import dataclass

Z95 = 1.959963984540054  # two-sided 95%
Z_POWER = 0.8416212335729143  # 80% power
DETECTABLE = 0.05  # the smallest uplift worth measuring: 5 points


def wilson(successes: int, total: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion (0..1); (0, 1) when there is nobody."""
    if total <= 0:
        return 0.0, 1.0
    p = successes / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float, float]:
    """(p1 - p2, lower, upper), the 95% interval of the difference of two proportions."""
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson(x1, n1)
    l2, u2 = wilson(x2, n2)
    d = p1 - p2
    lower = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    upper = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return d, lower, upper


def holdout_needed(base_rate: float, ratio: float, uplift: float = DETECTABLE) -> int:
    """Holdout members needed to detect `uplift` over `base_rate`, with `ratio` recipients per
    holdout member (two-sided 5%, power 80%)."""
    p1 = min(max(base_rate, 0.01), 0.99 - uplift)
    p2 = p1 + uplift
    p_bar = (p1 * ratio + p2) / (ratio + 1)  # pooled, weighted by the groups' sizes
    a = Z95 * math.sqrt(p_bar * (1 - p_bar) * (1 + 1 / ratio))
    b = Z_POWER * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2) / ratio)
    return math.ceil(((a + b) / uplift) ** 2)


@dataclass(frozen=True)
class Uplift:
    sent: int
    sent_repeat: int
    holdout: int
    holdout_repeat: int
    difference: float | None  # points
    lower: float | None
    upper: float | None
    verdict: str

    def as_dict(self) -> dict:
        return {
            "uplift_points": self.difference,
            "ci95_points": None if self.lower is None else [self.lower, self.upper],
            "method": "Newcombe hybrid Wilson score (1998, method 10), 95%",
            "verdict": self.verdict,
        }


def uplift(sent: int, sent_repeat: int, holdout: int, holdout_repeat: int) -> Uplift:
    """The uplift of the recipients' repeat-purchase rate over the holdout's, in points."""
    if not sent or not holdout:
        verdict = (
            "not measurable: the campaign has no holdout"
            if not holdout
            else "not measurable yet: nobody has been sent the campaign"
        )
        return Uplift(sent, sent_repeat, holdout, holdout_repeat, None, None, None, verdict)
    d, lower, upper = newcombe(sent_repeat, sent, holdout_repeat, holdout)
    points = [round(100 * v, 1) for v in (d, lower, upper)]
    needed = holdout_needed(holdout_repeat / holdout, sent / holdout)
    if lower > 0:
        verdict = (
            f"brought customers back: {points[0]:+.1f} points "
            f"(95% interval {points[1]:+.1f} to {points[2]:+.1f})"
        )
    elif upper < 0:
        verdict = f"fewer came back than in the holdout: {points[0]:+.1f} points"
    elif holdout < needed:
        verdict = (
            f"not yet measurable: about {needed - holdout:,} more customers in the holdout "
            f"are needed for a {round(100 * DETECTABLE)}-point uplift"
        )
    else:
        verdict = (
            f"no measurable effect: {points[0]:+.1f} points "
            f"(95% interval {points[1]:+.1f} to {points[2]:+.1f})"
        )
    return Uplift(sent, sent_repeat, holdout, holdout_repeat, *points, verdict)
