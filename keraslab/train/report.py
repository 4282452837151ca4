"""Result tables, as Markdown, from the result dicts `run_experiment` writes.

The generic pieces: a table from `(header, key, format)` columns, column getters, a note on
how results were made, and showing a figure in a notebook. Each lab's own columns live in
its module under `keraslab.labs`. Missing values print as an en dash; "never" means the run
did not reach its target accuracy.

Example:
>>> rows = [{"name": "he-relu", "epochs_to_target": 3, "final_accuracy": 0.97}]
>>> print(markdown_table(rows, [("run", "name", "{}"), ("epochs", "epochs_to_target", "{}")]))
| run | epochs |
| --- | --- |
| he-relu | 3 |
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
        if not self.values or not all(_is_number(v) for v in self.values):
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


def _is_number(value):
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and not (isinstance(value, float) and math.isnan(value)))


def combine(values):
    """One table cell for the values a column took over a configuration's repeats: the
    value itself when all are equal, a `Spread` when they are real numbers, else every value
    in repeat order (counts, such as epochs to target, read better so: "3, 4, never")."""
    values = list(values)
    if all(v is None or (isinstance(v, float) and math.isnan(v)) for v in values):
        return None
    if all(v == values[0] for v in values):
        return values[0]
    if all(_is_number(v) for v in values) and not all(isinstance(v, numbers.Integral) for v in values):
        return Spread(tuple(float(v) for v in values))
    return _Listed(tuple(values))


@dataclasses.dataclass(frozen=True)
class _Listed:
    values: tuple

    def format(self, fmt):
        return ", ".join(format_value(v, fmt) for v in self.values)


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


def value_at(row, key):
    """The value at `key` of a row: a dotted path into the dict, or a function of the row."""
    if callable(key):
        return key(row)
    value = row
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def format_value(value, fmt):
    """`value` formatted with `fmt` (a `Spread` as mean ± std), or an en dash when it is
    missing (None or NaN)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if isinstance(value, (Spread, _Listed)):
        return value.format(fmt)
    return fmt.format(value)


def markdown_table(rows, columns):
    """A Markdown table.

    Args:
        rows: dicts (or any objects the column keys can read).
        columns: `(header, key, format)` triples; `key` is a dotted path into the dict
            (`"runtime.kind"`) or a function of the row; `format` a `str.format` pattern.

    Returns:
        The table as a string.
    """
    lines = ["| " + " | ".join(h for h, _, _ in columns) + " |", "| " + " | ".join("---" for _ in columns) + " |"]
    for row in rows:
        lines.append("| " + " | ".join(format_value(value_at(row, k), f) for _, k, f in columns) + " |")
    return "\n".join(lines)


def repeated_table(results, columns):
    """A Markdown table with one row per configuration, each cell combining that
    configuration's repeats (see `combine`): mean ± std for numbers.

    Args:
        results: result dicts; repeats of a configuration are named `<configuration>-r<k>`
            (see `keraslab.train.results.group_repeats`).
        columns: as for `markdown_table`; the key `"name"` gives the configuration's name.
    """
    from keraslab.train.results import group_repeats

    rows = [[configuration if key == "name" else combine(value_at(r, key) for r in group) for _, key, _ in columns]
            for configuration, group in group_repeats(results).items()]
    # The combined cells are in column order: column i reads item i of a row.
    return markdown_table(rows, [(header, (lambda row, i=i: row[i]), fmt)
                                 for i, (header, _, fmt) in enumerate(columns)])


def epochs_or_never(row):
    """A row's `epochs_to_target`, or "never" when the run did not reach the target."""
    return row.get("epochs_to_target") if row.get("epochs_to_target") is not None else "never"


def percent(key):
    """A column getter: the value at `key` (a dotted path) times 100, or None."""
    def get(row):
        value = value_at(row, key)
        return None if value is None else 100.0 * value

    return get


def show(figure):
    """Displays a Matplotlib figure as a PNG in a notebook, its description stored in the file
    for the book's alt text (:func:`keraslab.plots.show`)."""
    from keraslab import plots

    plots.show(figure)


def setup_note(results, command):
    """One paragraph, in Markdown, on how a lab's results were made: the command, the data,
    the training settings, the machine's runtime and the library versions."""
    first = results[0]
    cfg, data, runtime = first["config"], first["data"], first["runtime"]
    source = data["source"]
    if source.startswith("offline:"):
        source = f"the offline stand-in `{source.split(':', 1)[1]}` for `{cfg['dataset']}`"
    else:
        source = f"`{source}`"
    epochs = sorted({r["config"]["epochs"] for r in results})
    sizes = sorted({r["data"]["train_size"] for r in results})
    train = f"{sizes[0]}" if len(sizes) == 1 else f"{sizes[0]} to {sizes[-1]}"
    minutes = sum(r.get("total_time") or 0 for r in results) / 60
    versions = ", ".join(f"{k} {v}" for k, v in first["versions"].items() if v)
    return (
        f"Made with `{command}`: {len(results)} runs on {source} ({train} training and "
        f"{data['test_size']} test images of shape {tuple(data['input_shape'])}), "
        f"{'/'.join(map(str, epochs))} epochs at most, optimizer `{cfg['optimizer']}` with learning rate "
        f"{cfg['learning_rate']}, on {runtime['device'].upper()} ({runtime['strategy']} strategy, "
        f"{runtime['replicas']} replica), {minutes:.0f} minutes of training in all; {versions}. "
        "Each run's `result.json` under `book/labs/results/` keeps its full configuration, history "
        "and diagnostics."
    )
