"""Repeated configurations: names, grouping, mean ± spread and the test that calls a difference."""

import math

import numpy as np
import pytest
from scipy import stats

from keraslab.train import report
from keraslab.train import stats as kstats
from keraslab.train.results import configuration_of, group_repeats, repeat_name


def test_repeat_names_round_trip_and_plain_names_are_their_own_configuration():
    assert configuration_of(repeat_name("batch-2", 11)) == "batch-2"
    assert configuration_of("plain-seed3") == "plain-seed3"
    results = [{"name": n} for n in ("a-r0", "b", "a-r1", "c-r0")]
    assert {k: [r["name"] for r in v] for k, v in group_repeats(results).items()} == {
        "a": ["a-r0", "a-r1"], "b": ["b"], "c": ["c-r0"]}


def test_spread_is_numpys_mean_and_sample_std():
    values = (0.3, 1.7, 2.2, 9.1)
    spread = kstats.Spread(values)
    assert spread.mean == pytest.approx(np.mean(values))
    assert spread.std == pytest.approx(np.std(values, ddof=1))
    assert kstats.Spread((4.0,)).std == 0.0
    with pytest.raises(ValueError, match="Received: values=()"):
        kstats.Spread(())


def test_combine_keeps_equal_values_lists_counts_and_spreads_reals():
    assert report.combine([1000, 1000]) == 1000
    assert report.format_value(report.combine([3, 4, "never"]), "{}") == "3, 4, never"
    assert report.format_value(report.combine([0.5, 0.7]), "{:.2f}") == "0.60 ± 0.14"
    assert report.format_value(report.combine([0.5, None]), "{:.1f}") == "0.5, –"
    assert report.combine([float("nan"), None, float("nan")]) is None  # missing in every seed: one dash


def test_differs_is_welchs_t_test():
    a, b = [0.61, 0.64, 0.60], [0.70, 0.69, 0.74]
    difference, p, different = kstats.differs(a, b)
    assert difference == pytest.approx(np.mean(a) - np.mean(b))
    assert p == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue)
    assert different
    assert not kstats.differs([0.6, 0.7, 0.5], [0.61, 0.72, 0.52])[2]
    _, p, different = kstats.differs([0.6], [0.7, 0.8])
    assert math.isnan(p) and not different


def test_spread_text_signs_the_mean_only_and_marks_no_values():
    values = [1.0, 3.0]
    std = np.std(values, ddof=1)  # NumPy's sample std as the oracle
    assert kstats.spread_text(values, "{:+.1f}") == f"+2.0 ± {std:.1f}"
    assert kstats.spread_text([-0.5], "{:+.1f}") == "-0.5"
    assert kstats.spread_text([], "{:.1f}") == kstats.MISSING


def test_welch_text_gives_scipys_p_value_or_says_no_test_is_possible():
    a, b = [1.0, 2.0, 3.0], [4.0, 5.0, 7.0]
    p = stats.ttest_ind(a, b, equal_var=False).pvalue
    difference, different, text = kstats.welch_text(a, b)
    assert math.isclose(difference, np.mean(a) - np.mean(b)) and different == (p < 0.05)
    assert text == f"Welch p = {p:.2g}"
    assert kstats.welch_text([1.0, 1.0], [1.0, 1.0])[1:] == (False, "no Welch test (no spread)")


def test_welch_text_of_no_difference_says_what_difference_the_test_could_have_called():
    a, b = [94.3, 91.6, 96.9], [97.2, 96.0, 98.4]
    difference, different, text = kstats.welch_text(a, b)
    p = stats.ttest_ind(a, b, equal_var=False).pvalue
    assert not different and p > 0.05
    smallest = kstats.smallest_detectable_difference(a, b)
    assert text == f"Welch p = {p:.2g}; detectable from {smallest:.2g}"
    assert abs(difference) < smallest


@pytest.mark.parametrize("a, b", [([94.3, 91.6, 96.9], [97.2, 96.0, 98.4]), ([0.2, 0.5, 0.1, 0.4], [0.3, 0.9, 0.6])])
def test_smallest_detectable_difference_is_where_welchs_test_reaches_alpha(a, b):
    """SciPy's Welch test is the oracle: b's values moved so that the means differ by exactly
    the smallest detectable difference give p = alpha; a little less gives p above it, a
    little more below (the spreads, and so the test's degrees of freedom, stay the same)."""
    smallest = kstats.smallest_detectable_difference(a, b, alpha=0.05)
    shift = np.mean(a) - np.mean(b)

    def p_at(difference):
        moved = np.asarray(b) + shift - difference
        return stats.ttest_ind(a, moved, equal_var=False).pvalue

    assert smallest > 0
    assert p_at(smallest) == pytest.approx(0.05, rel=1e-9)
    assert p_at(0.99 * smallest) > 0.05 > p_at(1.01 * smallest)
    assert kstats.smallest_detectable_difference(a, b, alpha=0.01) > smallest


def test_smallest_detectable_difference_needs_two_values_and_some_spread_on_a_side():
    assert math.isnan(kstats.smallest_detectable_difference([1.0], [2.0, 3.0]))
    assert math.isnan(kstats.smallest_detectable_difference([1.0, 1.0], [2.0, 2.0]))
    with pytest.raises(ValueError, match="Received: alpha=1.5"):
        kstats.smallest_detectable_difference([1.0, 2.0], [2.0, 3.0], alpha=1.5)


def test_a_comparison_calls_inconclusive_only_where_the_grid_could_not_see_the_claim():
    clear = kstats.compare([10.0, 11.0, 12.0], [5.0, 6.0, 7.0])  # p well below 0.05
    assert clear.different and clear.verdict(2.0) == "reproduced"
    assert clear.verdict(2.0, 4.0) == "not reproduced"  # called, but larger than claimed
    assert kstats.compare([5.0, 6.0, 7.0], [10.0, 11.0, 12.0]).verdict(2.0) == "not reproduced"  # reversed
    noisy = kstats.compare([1.0, 9.0, 5.0], [4.0, 6.0, 2.0])
    assert not noisy.different and noisy.detectable > 3
    assert noisy.verdict(claimed_low=3.0) == "inconclusive"  # could not have seen 3
    assert noisy.verdict(claimed_low=2 * noisy.detectable) == "not reproduced"  # could have seen it
    # At the detectable size exactly, SciPy's test calls the difference: the boundary is right.
    shifted = [v + noisy.detectable - noisy.difference for v in [1.0, 9.0, 5.0]]
    assert stats.ttest_ind(shifted, [4.0, 6.0, 2.0], equal_var=False).pvalue == pytest.approx(0.05)
    with pytest.raises(ValueError, match="Received: claimed_low=0"):
        clear.verdict(0)
    assert "detectable from" in noisy.text() and "Welch p" in clear.text()
