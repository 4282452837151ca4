"""What a lab module declares, as small data types: a course claim and a figure.

A lab module (`keraslab/labs/labN.py`) defines at module level:

- `TITLE`: one line;
- `BASE`: the settings every run starts from (keys of `keraslab.train.config.RunConfig`);
- `GRID`: one dict of overrides per run, each with a `name`;
- `SCALES`: overrides per scale, `{"fast": {...}, "cpu": {...}, "full": {...}}`;
- `TABLE`: the result table's `(header, key, format)` columns (see `keraslab.train.report`);
- `CLAIMS`: the course claims the lab tests, as `Claim`s;
- `figures(results, analyses)`: the lab's figures, as `Figure`s;

and optionally `ALIASES` (other names for the lab) and `ANALYSES` (`{name: function(out_dir,
results)}`: analysis over the whole grid, written to `<name>.json` beside the summary).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable


@dataclasses.dataclass(frozen=True)
class Claim:
    """A claim of the course material that a lab tests.

    Args:
        text: the claim, as the course states it.
        fields: the result fields that bear on it (keys of `result.json`, dotted for nested
            ones, e.g. `"diagnostics.gradients"`).
        runs: the names of the grid's runs it compares (empty: all).
        claimed: the course's figures for it, as data (for a page's "claimed" columns).
    """

    text: str
    fields: tuple[str, ...]
    runs: tuple[str, ...] = ()
    claimed: dict = dataclasses.field(default_factory=dict)


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
