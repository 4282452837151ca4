"""The statistics of repeated runs: mean ± spread over seeds, Welch's test, the smallest
difference a grid can see, and a comparison that turns them into a verdict on a claimed effect.

Every lab judges its course claims with these; the book pages only glue what the labs compute
from them. Table writing lives in `keraslab.train.report`.

Example:
>>> Spread((94.0, 95.0, 96.0)).format("{:.1f}")
'95.0 ± 1.0'
"""

from __future__ import annotations

import dataclasses
import math
import numbers

MISSING = "–"


@dataclasses.dataclass(frozen=True)
class Spread:
    """The values one measurement took over the repeats (seeds) of a configuration.

    Formats as "mean ± sample standard deviation" (the mean alone for one value).

    Example:
    >>> s = Spread((94.0, 95.0, 96.0))
    >>> s.mean, s.std, s.format("{:.1f}")
    (95.0, 1.0, '95.0 ± 1.0')
    """

    values: tuple

    def __post_init__(self):
        if not self.values or not all(is_number(v) for v in self.values):
            raise ValueError(f"`values` must be one or more numbers. Received: values={self.values!r}")

    @property
    def n(self):
        return len(self.values)

    @property
    def mean(self):
        return math.fsum(self.values) / self.n

    @property
    def std(self):
        """The sample standard deviation (ddof = 1); 0 for a single value."""
        if self.n < 2:
            return 0.0
        mean = self.mean
        return math.sqrt(math.fsum((v - mean) ** 2 for v in self.values) / (self.n - 1))

    def format(self, fmt):
        if self.n == 1:
            return fmt.format(self.values[0])
        return f"{fmt.format(self.mean)} ± {fmt.format(self.std)}"


def is_number(value):
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and not (isinstance(value, float) and math.isnan(value)))


def _welch_samples(a, b):
    """`(Spread of a, Spread of b, testable)`: Welch's test needs two values on each side and
    some spread on one of them."""
    a, b = Spread(tuple(map(float, a))), Spread(tuple(map(float, b)))
    return a, b, a.n >= 2 and b.n >= 2 and (a.std > 0 or b.std > 0)


def differs(a, b, alpha=0.05):
    """Whether two sets of repeats differ in mean, by Welch's two-sided t-test.

    Returns:
        `(difference of means a - b, p-value, differs)`; with fewer than two values on a
        side, or no spread on either, the p-value is NaN and `differs` is False (no test
        is possible).
    """
    a, b, testable = _welch_samples(a, b)
    difference = a.mean - b.mean
    if not testable:
        return difference, float("nan"), False
    from scipy import stats

    p = float(stats.ttest_ind(a.values, b.values, equal_var=False).pvalue)
    return difference, p, p < alpha


def smallest_detectable_difference(a, b, alpha=0.05):
    """The smallest difference of means that `differs` would call at the spreads observed:
    Welch's two-sided test at level `alpha`, with the Welch-Satterthwaite degrees of freedom of
    `a` and `b`. A difference of means below it cannot be told from seed noise with these
    repeats, whatever its sign; NaN where no test is possible (as in `differs`).

    Raises:
        ValueError: when `alpha` is not strictly between 0 and 1.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"`alpha` must be strictly between 0 and 1. Received: alpha={alpha!r}")
    a, b, testable = _welch_samples(a, b)
    if not testable:
        return float("nan")
    from scipy import stats

    va, vb = a.std**2 / a.n, b.std**2 / b.n
    dof = (va + vb) ** 2 / (va**2 / (a.n - 1) + vb**2 / (b.n - 1))
    return float(stats.t.ppf(1 - alpha / 2, dof) * math.sqrt(va + vb))


def spread_text(values, fmt="{:.1f}"):
    """The values as "mean ± sample std" (`Spread`), a signed format such as `"{:+.1f}"`
    signing the mean only; `MISSING` for no values.

    Example:
    >>> spread_text([1.0, 3.0], "{:+.1f}")
    '+2.0 ± 1.4'
    """
    values = [float(v) for v in values]
    if not values:
        return MISSING
    spread = Spread(tuple(values))
    if "+" not in fmt:
        return spread.format(fmt)
    mean = fmt.format(spread.mean)
    return mean if spread.n == 1 else f"{mean} ± {fmt.replace('+', '').format(spread.std)}"


def welch_text(a, b, alpha=0.05):
    """`differs(a, b, alpha)` for a judge's evidence: `(difference of means a - b, differs,
    text)`, the text "Welch p = 0.012", or "no Welch test (no spread)" when none is possible.
    When the test calls no difference, the text adds the smallest difference it would have
    called at these spreads ("Welch p = 0.15; detectable from 4.9",
    `smallest_detectable_difference`): no difference seen is not no difference."""
    difference, p, different = differs(a, b, alpha=alpha)
    if math.isnan(p):
        return difference, different, "no Welch test (no spread)"
    text = f"Welch p = {p:.2g}"
    if not different:
        text += f"; detectable from {smallest_detectable_difference(a, b, alpha=alpha):.2g}"
    return difference, different, text


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Two sets of repeats compared: their spreads, the difference of means `a - b`, Welch's
    two-sided p-value and the smallest difference the test could call at these spreads.

    Build it with `compare`. `verdict` says what it shows of a claimed difference.
    """

    a: Spread
    b: Spread
    difference: float
    p: float
    detectable: float
    alpha: float

    @property
    def different(self):
        """Whether Welch's test calls the difference (False when no test is possible)."""
        return not math.isnan(self.p) and self.p < self.alpha

    def verdict(self, claimed_low, claimed_high=math.inf):
        """The verdict on a claim that `a - b` lies in `[claimed_low, claimed_high]`
        (`claimed_low > 0`: the claim says `a` is the larger):

        - "reproduced": the test calls a difference, and it lies in the claimed range;
        - "not reproduced": the difference is called but lies outside the range (reversed,
          smaller or larger), or it is not called although the grid could have seen the
          claimed size (`detectable <= claimed_low`);
        - "inconclusive": not called, and the smallest detectable difference exceeds the
          claimed size: these repeats could not have seen it.

        Raises:
            ValueError: for a range that is empty or not positive.
        """
        if not 0 < claimed_low <= claimed_high:
            raise ValueError("`claimed_low` must be positive and at most `claimed_high`. "
                             f"Received: claimed_low={claimed_low!r}, claimed_high={claimed_high!r}")
        if self.different:
            return "reproduced" if claimed_low <= self.difference <= claimed_high else "not reproduced"
        if math.isnan(self.detectable) or self.detectable > claimed_low:
            return "inconclusive"
        return "not reproduced"

    def text(self, fmt="{:.2g}"):
        """"+1.2 (Welch p = 0.012)", or "…; detectable from 4.9" when not called."""
        if math.isnan(self.p):
            return f"{fmt.format(self.difference)} (no Welch test: no spread)"
        called = f"Welch p = {self.p:.2g}"
        if not self.different:
            called += f"; detectable from {fmt.format(self.detectable)}"
        sign = "+" if self.difference >= 0 else ""
        return f"{sign}{fmt.format(self.difference)} ({called})"


def compare(a, b, alpha=0.05):
    """`a` against `b` (each the values of one configuration's repeats) as a `Comparison`.

    Example:
    >>> c = compare([10.0, 11.0, 12.0], [5.0, 6.0, 7.0])
    >>> c.difference, c.different, c.verdict(2.0)
    (5.0, True, 'reproduced')
    """
    difference, p, _ = differs(a, b, alpha=alpha)
    spread_a, spread_b, _ = _welch_samples(a, b)
    return Comparison(spread_a, spread_b, difference, p, smallest_detectable_difference(a, b, alpha=alpha), alpha)
