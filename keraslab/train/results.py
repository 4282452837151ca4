"""Result files of runs: the summary rows, reading a folder of runs back, and a compact export.

A folder of runs holds one `<run>/result.json` per run and, when a grid wrote it,
`summary.json` (whose `runs` give the order). Nothing here trains or imports TensorFlow.
"""

from __future__ import annotations

import csv
import json
import math
import re
import shutil
from pathlib import Path

from keraslab.train.config import json_default

SUMMARY_FIELDS = ["name", "final_accuracy", "best_val_accuracy", "epochs_to_target", "final_train_accuracy",
                  "generalization_gap", "time_per_epoch", "epochs_run", "steps", "trainable_params", "ece",
                  "loss_noise", "corruption_mean_accuracy", "corruption_ece", "data_source"]


# A configuration repeated over seeds runs as `<configuration>-r<k>`, k = 0, 1, ...
_REPEAT = re.compile(r"^(?P<configuration>.+)-r(?P<repeat>\d+)$")


def repeat_name(configuration, repeat):
    """The run name of repetition `repeat` (0, 1, ...) of a configuration.

    Example:
    >>> repeat_name("he-relu", 2)
    'he-relu-r2'
    """
    return f"{configuration}-r{repeat}"


def configuration_of(name):
    """The configuration a run name repeats (the name itself for a run that is not repeated).

    Example:
    >>> configuration_of("he-relu-r2"), configuration_of("he-relu")
    ('he-relu', 'he-relu')
    """
    match = _REPEAT.match(name)
    return match["configuration"] if match else name


def group_repeats(results):
    """The results grouped by configuration, in order of first appearance:
    `{configuration: [result of each repeat, in repeat order]}`."""
    groups = {}
    for result in results:
        groups.setdefault(configuration_of(result["name"]), []).append(result)
    return groups


def reaches(accuracy, target, n=None):
    """Whether an accuracy reaches `target`, compared as counts of correct predictions.

    Keras stores accuracies as float32 ratios: 950 correct of 1,000 is 0.949999988, below the
    float 0.95. With `n` (the number of examples the accuracy was measured on) both sides are
    turned into counts; without it both are compared as float32, which is how Keras computed the
    ratio.

    Example:
    >>> reaches(0.949999988079071, 0.95, n=1000), reaches(0.949, 0.95, n=1000)
    (True, False)
    """
    if accuracy is None or math.isnan(accuracy):
        return False
    if n is None:
        import numpy as np

        return bool(np.float32(accuracy) >= np.float32(target))
    return round(accuracy * n) >= math.ceil(round(target * n, 6))


def epochs_to_target(history, target, key="val_accuracy", n=None):
    """First epoch (counting from 1) whose `key` reaches `target` (see `reaches`; `n`: the
    number of examples behind each value), or None if none does.

    Example:
    >>> epochs_to_target({"val_accuracy": [0.5, 0.96, 0.97]}, 0.95)
    2
    """
    if target is None:
        return None
    for i, value in enumerate(history.get(key, []), start=1):
        if value is not None and reaches(value, target, n):
            return i
    return None


def steps_or_budget(results):
    """Steps to the target per result, one that never reached it counted at its last step (a
    lower bound on the steps it would have needed)."""
    return [r["steps"] if r.get("steps_to_target") is None else r["steps_to_target"] for r in results]


def steps_to_target(record, target):
    """The first optimizer step at which a `StepCounter` record's count of correct validation
    predictions reaches `target` (a share), or None when none does (or `target` is None).

    Example:
    >>> steps_to_target({"validation_size": 10, "step": [0, 50, 100], "correct": [1, 7, 9]}, 0.7)
    50
    """
    if target is None:
        return None
    needed = math.ceil(round(target * record["validation_size"], 6))
    return next((step for step, correct in zip(record["step"], record["correct"], strict=True)
                 if correct >= needed), None)


_HELD_OUT = re.compile(r"^(\d+) held-out")


def validation_size(result):
    """The number of images a result's validation accuracies were measured on."""
    data = result["data"]
    if data.get("validation_size") is not None:
        return int(data["validation_size"])
    held_out = _HELD_OUT.match(str(data.get("validation", "")))
    return int(held_out[1]) if held_out else int(data["test_size"])


def result_epochs_to_target(result, target=None):
    """A result's epochs to `target` (default: its own `target_accuracy`), counted afresh from
    its history on its validation images (results written before the count fix stored a
    float32 comparison). A result without a validation history (a made-up one in a test) gives
    its stored `epochs_to_target`."""
    if not result.get("history", {}).get("val_accuracy"):
        return result.get("epochs_to_target")
    target = result.get("target_accuracy") if target is None else target
    return epochs_to_target(result["history"], target, n=validation_size(result))


def read_history(path):
    """Reads a `history.csv` written by `CSVLogger(append=True)`; for an epoch logged twice
    (killed between logging and backup), the later row wins."""
    rows = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if row.get("epoch", "") in ("", "epoch"):
                continue  # header repeated by an appending logger
            rows[int(row["epoch"])] = row
    history = {}
    for epoch in sorted(rows):
        for k, v in rows[epoch].items():
            if k == "epoch":
                continue
            history.setdefault(k, []).append(float(v) if v not in ("", None) else float("nan"))
    return history


def summarize(results):
    """One flat row per run (the CSV columns of `summary.csv`)."""
    rows = []
    for r in results:
        row = {k: r.get(k) for k in SUMMARY_FIELDS}
        row["data_source"] = r["data"]["source"]
        rows.append(row)
    return rows


def write_summary(out_dir, rows, report):
    """Writes `summary.csv` (the rows) and `summary.json` (the report dict) into `out_dir`."""
    out = Path(out_dir)
    with open(out / "summary.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=SUMMARY_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    write_json(out / "summary.json", report)


def write_json(path, value):
    """Writes `value` as indented JSON (NumPy values as plain numbers)."""
    Path(path).write_text(json.dumps(value, indent=1, default=json_default))


def load_results(out_dir):
    """All `result.json` files under a lab folder, in the summary's order when there is one."""
    out = Path(out_dir)
    order = []
    if (out / "summary.json").exists():
        order = [r["name"] for r in json.loads((out / "summary.json").read_text())["runs"]]
    found = {p.parent.name: json.loads(p.read_text()) for p in out.glob("*/result.json")}
    names = [n for n in order if n in found] + sorted(n for n in found if n not in order)
    return [found[n] for n in names]


def export_results(out_dir, dest):
    """Copies a folder of runs in a compact form that is small enough to keep in a repository.

    `dest` gets `summary.json` (and `ensemble.json` when there is one) and one
    `<run>/result.json` per run, laid out like `out_dir`, so `load_results(dest)` and the
    labs' figures work on it. Activation histograms are kept for the first two records and
    the last (at initialization, after epoch 1, at the end); everything else is kept whole.
    Figures, predictions, logs and backups are left out.

    Returns:
        The number of runs exported.
    """
    out, dest = Path(out_dir), Path(dest)
    results = load_results(out)
    if not results:
        raise ValueError(f"no results to export in {out}")
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("summary.json", "ensemble.json"):
        if (out / name).exists():
            shutil.copyfile(out / name, dest / name)
    for result in results:
        result = json.loads(json.dumps(result))
        acts = result.get("diagnostics", {}).get("activations")
        if acts and len(acts) > 3:
            result["diagnostics"]["activations"] = acts[:2] + acts[-1:]
        (dest / result["name"]).mkdir(exist_ok=True)
        (dest / result["name"] / "result.json").write_text(json.dumps(result, indent=1) + "\n")
    return len(results)
