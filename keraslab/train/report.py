"""Result tables of the labs, as Markdown, from the result dicts the runner writes.

The book's lab pages and the lab notebooks show the same tables: one row per run with the
numbers each lab is about, and for lab 5 the ensembles. Missing values print as an en dash;
"never" means the run did not reach the lab's target accuracy.

Example:
>>> rows = [{"name": "he-relu", "epochs_to_target": 3, "final_accuracy": 0.97}]
>>> print(markdown_table(rows, [("run", "name", "{}"), ("epochs", "epochs_to_target", "{}")]))
| run | epochs |
| --- | --- |
| he-relu | 3 |
"""

from __future__ import annotations

import math

MISSING = "–"


def _value(row, key):
    if callable(key):
        return key(row)
    value = row
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _format(value, fmt):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
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
        lines.append("| " + " | ".join(_format(_value(row, k), f) for _, k, f in columns) + " |")
    return "\n".join(lines)


def _epochs(row):
    return row.get("epochs_to_target") if row.get("epochs_to_target") is not None else "never"


def gradient_ratio(norms):
    """First-layer over last-layer gradient norm of an ordered `{layer: norm}` dict
    (NaN when the last norm is 0): below 1 the gradient shrinks towards the input."""
    values = list(norms.values())
    if len(values) < 2 or not values[-1]:
        return float("nan")
    return float(values[0] / values[-1])


def _grad_ratio(index):
    def get(row):
        records = row.get("diagnostics", {}).get("gradients") or []
        if len(records) <= index:
            return None
        return gradient_ratio(records[index]["norms"])

    return get


def _first_grad(index):
    def get(row):
        records = row.get("diagnostics", {}).get("gradients") or []
        if len(records) <= index:
            return None
        return next(iter(records[index]["norms"].values()))

    return get


def _percent(key):
    def get(row):
        value = _value(row, key)
        return None if value is None else 100.0 * value

    return get


TABLES = {
    "lab1": [
        ("initialization", "config.initializer", "{}"), ("activation", "config.activation", "{}"),
        ("epochs to target", _epochs, "{}"), ("test accuracy (%)", _percent("final_accuracy"), "{:.1f}"),
        ("first-layer gradient norm at init", _first_grad(0), "{:.2g}"),
        ("first/last layer gradient, at init", _grad_ratio(0), "{:.2g}"),
        ("after epoch 1", _grad_ratio(1), "{:.2g}"),
    ],
    "lab2": [
        ("normalization", "config.normalization", "{}"), ("batch size", "config.batch_size", "{}"),
        ("epochs to target", _epochs, "{}"), ("test accuracy (%)", _percent("final_accuracy"), "{:.1f}"),
        ("best (%)", _percent("best_val_accuracy"), "{:.1f}"), ("loss noise", "loss_noise", "{:.3f}"),
        ("s / epoch", "time_per_epoch", "{:.1f}"),
    ],
    "lab3": [
        ("run", "name", "{}"), ("train accuracy (%)", _percent("final_train_accuracy"), "{:.1f}"),
        ("test accuracy (%)", _percent("final_accuracy"), "{:.1f}"),
        ("gap (points)", _percent("generalization_gap"), "{:.1f}"), ("epochs run", "epochs_run", "{}"),
    ],
    "lab4": [
        ("strategy", "config.strategy", "{}"), ("training images", "data.train_size", "{}"),
        ("trainable parameters", "trainable_params", "{:,}"), ("epochs to target", _epochs, "{}"),
        ("test accuracy (%)", _percent("final_accuracy"), "{:.1f}"), ("s / epoch", "time_per_epoch", "{:.1f}"),
        ("epochs run", "epochs_run", "{}"),
    ],
    "lab5": [
        ("run", "name", "{}"), ("test accuracy (%)", _percent("final_accuracy"), "{:.1f}"),
        ("ECE", "ece", "{:.3f}"), ("accuracy, corrupted (%)", _percent("corruption_mean_accuracy"), "{:.1f}"),
        ("ECE, corrupted", "corruption_ece", "{:.3f}"),
    ],
}


def lab_table(lab, results):
    """The standard table of a lab (`TABLES`) for its result dicts, as Markdown."""
    if lab not in TABLES:
        raise ValueError(f"`lab` must be one of {sorted(TABLES)}. Received: lab={lab!r}")
    return markdown_table(results, TABLES[lab])


def ensemble_table(ensemble):
    """Lab 5's ensembles side by side: one row per method, one column per ensemble.

    Args:
        ensemble: the dict `evaluate_lab5_ensemble` returns (`ensemble.json`).
    """
    groups = [("seeds", ensemble)]
    if ensemble.get("architectures"):
        groups.append(("architectures", ensemble["architectures"]))
    rows = [
        ("best member (%)", lambda e: 100 * e["best_member"]),
        ("mean member (%)", lambda e: 100 * e["mean_member"]),
        ("averaging (%)", lambda e: 100 * e["average"]),
        ("majority vote (%)", lambda e: 100 * e["vote"]),
        ("stacking (%)", lambda e: 100 * e["stacking"] if "stacking" in e else None),
        ("ECE, mean member", lambda e: sum(e["ece_members"].values()) / len(e["ece_members"])),
        ("ECE, averaging", lambda e: e["ece_average"]),
        ("corrupted: mean member (%)", lambda e: 100 * e["corrupted_mean"]["mean_member"] if "corrupted_mean" in e else None),
        ("corrupted: averaging (%)", lambda e: 100 * e["corrupted_mean"]["average"] if "corrupted_mean" in e else None),
        ("corrupted: ECE, averaging", lambda e: e["corrupted_mean"]["ece_average"] if "corrupted_mean" in e else None),
    ]
    table = [{"method": label, **{name: get(e) for name, e in groups}} for label, get in rows]
    fmt = {label: ("{:.3f}" if label.startswith("ECE") or "ECE" in label else "{:.1f}") for label, _ in rows}
    header = ["| method | " + " | ".join(f"{name} ({len(e['members'])} models)" for name, e in groups) + " |",
              "| --- | " + " | ".join("---" for _ in groups) + " |"]
    body = ["| " + row["method"] + " | " + " | ".join(_format(row[name], fmt[row["method"]]) for name, _ in groups)
            + " |" for row in table]
    return "\n".join(header + body) + f"\n\nScored on {ensemble.get('evaluated_on', MISSING)} test images."


def show(figure):
    """Displays a Matplotlib figure as a PNG in a notebook (no pyplot backend needed)."""
    import io

    from IPython.display import Image, display

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    display(Image(data=buffer.getvalue()))


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
