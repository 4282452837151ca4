"""What a lab module declares, as small data types: a course claim and a figure.

A lab module (`keraslab/labs/labN.py`) defines at module level:

- `TITLE`: one line;
- `BASE`: the settings every run starts from (keys of `keraslab.train.config.RunConfig`);
- `GRID`: one dict of overrides per run, each with a `name`;
- `SCALES`: overrides per scale, `{"fast": {...}, "cpu": {...}, "full": {...}}`;
- `TABLE`: the result table's `(header, key, format)` columns (see `keraslab.train.report`);
- `CLAIMS`: the course claims the lab tests, as `Claim`s, each with a `judge` that gives its
  `Verdict` on the lab's results;
- `figures(results, analyses)`: the lab's figures, as `Figure`s;

and optionally `ALIASES` (other names for the lab), `REPEATS` (`{scale: n}`: each configuration
of the grid runs n times, with seeds `seed + 1000 k`, as `<name>-r<k>`; default 1) and
`ANALYSES` (`{name: function(out_dir, results)}`: analysis over the whole grid, written to
`<name>.json` beside the summary).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable

# reproduced: the effect is there, of the claimed size; not reproduced: absent or reversed
# although the grid could have seen the claimed size, or of another size; inconclusive: not seen,
# and the smallest difference the grid could see exceeds the claimed one; not testable at this
# scale: the claim is about data, sizes or budgets this grid does not have.
VERDICTS = ("reproduced", "not reproduced", "inconclusive", "not testable at this scale")


@dataclasses.dataclass(frozen=True)
class Verdict:
    """What a lab's results say of a course claim.

    Args:
        status: one of `VERDICTS`.
        evidence: one or two sentences with the numbers behind it.
        claimed: the size of the effect the course claims, as text ("2-3x fewer steps").
        observed: the difference observed here, with its spread.
        detectable: the smallest difference the grid could have called (Welch's test at the
            spreads observed; see `keraslab.train.stats.Comparison`).
    """

    status: str
    evidence: str
    claimed: str = ""
    observed: str = ""
    detectable: str = ""

    def __post_init__(self):
        if self.status not in VERDICTS:
            raise ValueError(f"`status` must be one of {VERDICTS}. Received: status={self.status!r}")
        if not self.evidence:
            raise ValueError(f"`evidence` must say what the verdict rests on. Received: evidence={self.evidence!r}")


@dataclasses.dataclass(frozen=True)
class Claim:
    """A claim of the course material that a lab tests.

    Args:
        text: the claim, as the course states it.
        fields: the result fields that bear on it (keys of `result.json`, dotted for nested
            ones, e.g. `"diagnostics.gradients"`).
        runs: the names of the grid's runs it compares (empty: all).
        claimed: the course's figures for it, as data (for a page's "claimed" columns).
        judge: `judge(groups) -> Verdict`, where `groups` is `{configuration: [result of
            each repeat]}` (see `keraslab.train.results.group_repeats`); a judge of a claim
            about a grid analysis (lab 5's ensembles) takes `judge(groups, analyses)`, with
            the lab's `{analysis name: value}` (see `ANALYSES`).
    """

    text: str
    fields: tuple[str, ...]
    runs: tuple[str, ...] = ()
    claimed: dict = dataclasses.field(default_factory=dict)
    judge: Callable | None = None

    def verdict(self, results, analyses=None):
        """This claim's `Verdict` on a lab's result dicts (and its grid analyses, for a judge
        that takes them).

        Raises:
            ValueError: when the claim has no judge, or the judge returns something else.
        """
        import inspect

        from keraslab.train.results import group_repeats

        if self.judge is None:
            raise ValueError(f"The claim {self.text!r} has no `judge`. Received: judge=None")
        groups = group_repeats(results)
        if len(inspect.signature(self.judge).parameters) >= 2:
            verdict = self.judge(groups, dict(analyses or {}))
        else:
            verdict = self.judge(groups)
        if not isinstance(verdict, Verdict):
            raise ValueError(f"The judge of {self.text!r} must return a Verdict. Received: {verdict!r}")
        return verdict


@dataclasses.dataclass(frozen=True)
class Figure:
    """One figure of a lab: a `keraslab.plots` function and its arguments.

    Args:
        file: the PNG's name in the lab's `figures/` folder.
        plot: the plotting function (it takes `path=` and returns the Matplotlib figure).
        args: positional arguments of `plot`.
        kwargs: keyword arguments of `plot`.
    """

    file: str
    plot: Callable
    args: tuple = ()
    kwargs: dict = dataclasses.field(default_factory=dict)

    def draw(self, path=None):
        """Draws the figure (and saves it as PNG at `path` when given); returns it."""
        return self.plot(*self.args, path=path, **self.kwargs)


def product(**axes):
    """All combinations of the axes, each named by its values.

    Example:
    >>> [r["name"] for r in product(initializer=["he"], activation=["tanh", "relu"])]
    ['he-tanh', 'he-relu']
    """
    keys = list(axes)
    runs = []
    for values in itertools.product(*(axes[k] for k in keys)):
        run = dict(zip(keys, values, strict=True))
        run["name"] = "-".join(str(v) for v in values)
        runs.append(run)
    return runs


def complete_grid(results, grid, repeats):
    """The results grouped by configuration (`keraslab.train.results.group_repeats`), after
    asserting that they hold every configuration of `grid` with `repeats` runs each: the first
    check of every lab's `check`.

    Raises:
        AssertionError: naming the configurations found, or the repeats missing.
    """
    from keraslab.train.results import group_repeats

    groups = group_repeats(results)
    assert sorted(groups) == sorted(run["name"] for run in grid), f"configurations {sorted(groups)}"
    assert all(len(g) == repeats for g in groups.values()), "every configuration has every seed"
    return groups
