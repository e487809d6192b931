"""The uplift interval against Newcombe's published examples (1998, Table II, method 10), the
sample size against the textbook formula, and the verdicts."""

import pytest

from campaigns.uplift import holdout_needed, newcombe, uplift, wilson


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ((56, 70, 48, 80), (0.2, 0.0524, 0.3339)),
        ((9, 10, 3, 10), (0.6, 0.1705, 0.8090)),
        ((6, 7, 2, 7), (0.5714, 0.0582, 0.8062)),
        ((5, 56, 0, 29), (0.0893, -0.0381, 0.1926)),  # no conversions in one group
        ((0, 10, 0, 20), (0.0, -0.1611, 0.2775)),  # none in either
        ((0, 10, 0, 10), (0.0, -0.2775, 0.2775)),
    ],
)
def test_the_interval_is_newcombes(counts, expected):
    assert tuple(round(v, 4) for v in newcombe(*counts)) == expected


def test_the_wilson_interval_of_zero_and_of_all():
    assert tuple(round(v, 4) for v in wilson(0, 10)) == (0.0, 0.2775)
    assert tuple(round(v, 4) for v in wilson(10, 10)) == (0.7225, 1.0)


def test_the_holdout_needed_is_the_two_proportion_sample_size():
    # 20% vs 25%, equal groups, 5% two-sided, 80% power: about 1,094 each (normal approximation)
    assert holdout_needed(0.20, ratio=1) == 1094
    # nine recipients per holdout member: the holdout can be smaller
    assert holdout_needed(0.20, ratio=9) < 1094


def test_a_holdout_of_30_is_not_yet_measurable():
    result = uplift(sent=900, sent_repeat=200, holdout=30, holdout_repeat=6)
    assert result.verdict.startswith("not yet measurable: about ")
    assert "more customers in the holdout are needed for a 5-point uplift" in result.verdict
    assert result.lower < 0 < result.upper


def test_a_clear_uplift_says_so_with_its_interval():
    result = uplift(sent=10_000, sent_repeat=2_500, holdout=10_000, holdout_repeat=2_000)
    assert (result.difference, result.lower, result.upper) == (5.0, 3.8, 6.2)
    assert result.verdict == "brought customers back: +5.0 points (95% interval +3.8 to +6.2)"


def test_without_a_holdout_nothing_is_claimed():
    result = uplift(sent=500, sent_repeat=50, holdout=0, holdout_repeat=0)
    assert result.difference is None
    assert result.verdict == "not measurable: the campaign has no holdout"
