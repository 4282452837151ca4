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

from keraslab.train.stats import MISSING, Spread, is_number


def combine(values):
    """One table cell for the values a column took over a configuration's repeats: the
    value itself when all are equal, a `Spread` when they are real numbers, else every value
    in repeat order (counts, such as epochs to target, read better so: "3, 4, never")."""
    values = list(values)
    if all(v is None or (isinstance(v, float) and math.isnan(v)) for v in values):
        return None
    if all(v == values[0] for v in values):
        return values[0]
    if all(is_number(v) for v in values) and not all(isinstance(v, numbers.Integral) for v in values):
        return Spread(tuple(float(v) for v in values))
    return _Listed(tuple(values))


@dataclasses.dataclass(frozen=True)
class _Listed:
    values: tuple

    def format(self, fmt):
        return ", ".join(format_value(v, fmt) for v in self.values)


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


def steps_or_never(row):
    """A result's optimizer steps to its target accuracy (`steps_to_target`), or "never"."""
    steps = row.get("steps_to_target")
    return "never" if steps is None else steps


def per_seed(values):
    """Steps per seed as text, None as "never": `[300, None]` -> "300, never"."""
    return ", ".join("never" if v is None else f"{v:,}" for v in values)


def epochs_or_never(row):
    """A result's epochs to its target accuracy, counted on its validation images
    (`keraslab.train.results.result_epochs_to_target`), or "never" when it did not reach it."""
    from keraslab.train.results import result_epochs_to_target

    epochs = result_epochs_to_target(row)
    return "never" if epochs is None else epochs


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
