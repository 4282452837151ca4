"""Lab 5, advanced: MixUp, CutMix, 5-model ensembles of seeds and of architectures,
calibration and corrupted inputs; the ensembles are evaluated from the runs' saved predictions."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from keraslab.labs.figures import robustness_figures, training_figures
from keraslab.labs.spec import Claim, Figure
from keraslab.train.report import MISSING, format_value, percent

TITLE = "Advanced: MixUp, CutMix, 5-model ensembles of seeds and of architectures, calibration, corrupted inputs"
ALIASES = ("advanced",)
BASE = {
    "dataset": "cifar10", "model": "resnet", "optimizer": "adam", "learning_rate": 1e-3,
    "batch_size": 64, "epochs": 40, "train_size": 10000, "test_size": 2000, "stochastic_depth": 0.1,
    "target_accuracy": 0.7, "early_stopping_patience": None,
    "diagnostics": ["calibration", "corruptions"], "save_predictions": True,
}
# Five seeds of one recipe, two other architectures (an ensemble of three seeds and
# these two), and the same recipe with crops and flips, then with MixUp or CutMix on top.
GRID = (
    [{"name": f"plain-seed{s}", "seed": s, "ensemble": "plain"} for s in range(5)]
    + [{"name": "convnet", "model": "convnet", "normalization": "batch",
        "filters": [16, 16, 32, 32, 64, 64], "ensemble": "architectures"},
       {"name": "resnet-groupnorm", "normalization": "group", "ensemble": "architectures"},
       # Crops and flips alone: the baseline that MixUp and CutMix add to.
       {"name": "crop-flip", "augment": "standard"},
       {"name": "mixup", "augment": {"crop_padding": 4, "flip": True, "mix": "mixup", "mix_alpha": 1.0}},
       {"name": "cutmix", "augment": {"crop_padding": 4, "flip": True, "mix": "cutmix", "mix_alpha": 1.0}}]
)
SCALES = {
    "fast": {"train_size": 256, "test_size": 128, "epochs": 1, "filters": [8, 16, 32], "blocks_per_stage": [1, 1, 1]},
    "cpu": {"train_size": 2000, "test_size": 1000, "epochs": 12, "filters": [16, 32, 64],
            "blocks_per_stage": [1, 1, 1]},
    # The course runs lab 5 on CIFAR-100; the smaller scales keep 10 classes, which a few
    # thousand images can learn.
    "full": {"dataset": "cifar100", "train_size": None, "test_size": None, "epochs": 100},
}
TABLE = [
    ("run", "name", "{}"), ("test accuracy (%)", percent("final_accuracy"), "{:.1f}"),
    ("ECE", "ece", "{:.3f}"), ("accuracy, corrupted (%)", percent("corruption_mean_accuracy"), "{:.1f}"),
    ("ECE, corrupted", "corruption_ece", "{:.3f}"),
]
_SEEDS = tuple(f"plain-seed{s}" for s in range(5))
CLAIMS = [
    Claim("An ensemble of 3-10 models gains typically 1-3 % accuracy over its members",
          ("ensemble.average", "ensemble.best_member", "ensemble.mean_member", "ensemble.vote", "ensemble.stacking"),
          _SEEDS, {"gain": "1-3 %"}),
    Claim("Diversity from different architectures helps an ensemble more than different seeds",
          ("ensemble.average", "ensemble.architectures.average"), _SEEDS[:3] + ("convnet", "resnet-groupnorm")),
    Claim("MixUp and CutMix improve calibration", ("ece", "reliability"), ("crop-flip", "mixup", "cutmix")),
    Claim("MixUp and CutMix improve robustness to corrupted inputs",
          ("corruption_mean_accuracy", "corruption_ece"), ("crop-flip", "mixup", "cutmix")),
    Claim("Averaging an ensemble improves calibration and robustness under distribution shift",
          ("ensemble.ece_average", "ensemble.ece_members", "ensemble.corrupted_mean"), _SEEDS),
]


def _evaluate_ensemble(out, members):
    from keraslab import ensemble
    from keraslab.diagnostics import expected_calibration_error, reliability_diagram

    preds = [np.load(Path(out) / r["name"] / "predictions.npz") for r in members]
    probs = [p["probs"].astype(np.float64) for p in preds]
    labels = preds[0]["labels"]
    hold, test = slice(0, None, 2), slice(1, None, 2)
    names = [r["name"] for r in members]
    result = ensemble.evaluate([p[test] for p in probs], labels[test],
                               holdout=([p[hold] for p in probs], labels[hold]), labels=names)
    result["ece_members"] = {n: expected_calibration_error(labels[test], p[test])
                             for n, p in zip(names, probs, strict=True)}
    average = np.mean([p[test] for p in probs], 0)
    result["ece_average"] = expected_calibration_error(labels[test], average)
    result["reliability_average"] = reliability_diagram(labels[test], average)
    result["evaluated_on"] = int(len(labels[test]))
    corruptions = sorted(k[len("corrupted_"):] for k in preds[0].files if k.startswith("corrupted_"))
    if corruptions and all(f"corrupted_{c}" in p.files for p in preds for c in corruptions):
        shifted = {}
        for c in corruptions:
            member_probs = [p[f"corrupted_{c}"].astype(np.float64)[test] for p in preds]
            scores = ensemble.evaluate(member_probs, labels[test], labels=names)
            shifted[c] = {"average": scores["average"], "mean_member": scores["mean_member"],
                          "best_member": scores["best_member"],
                          "ece_average": expected_calibration_error(labels[test], np.mean(member_probs, 0)),
                          "ece_mean_member": float(np.mean([expected_calibration_error(labels[test], m)
                                                            for m in member_probs]))}
        result["corrupted"] = shifted
        result["corrupted_mean"] = {k: float(np.mean([v[k] for v in shifted.values()]))
                                    for k in ("average", "mean_member", "best_member", "ece_average",
                                              "ece_mean_member")}
    return result


def evaluate_ensemble(out, results):
    """Ensembles lab 5's runs from their saved predictions.

    Two ensembles: the same recipe with different seeds (runs whose config has
    `ensemble="plain"`) and, when the grid has them, different architectures (the first
    three seeds plus the runs with `ensemble="architectures"`). The test predictions are
    split in two halves by index parity: the even half fits the stacking combiner, the odd
    half evaluates every method (members included), so stacking is never scored on data it
    was fitted to. When the runs saved predictions on corrupted test images, averaging is
    also scored on those (`corrupted`, `corrupted_mean`).

    Returns:
        The seed ensemble's scores (see `keraslab.ensemble.evaluate`, plus `ece_members`,
        `ece_average`, `reliability_average`, `evaluated_on`), with the architecture
        ensemble's scores under `architectures`; None with fewer than two seeds.
    """
    seeds = [r for r in results if r["config"].get("ensemble") == "plain"]
    if len(seeds) < 2:
        return None
    result = _evaluate_ensemble(out, seeds)
    others = [r for r in results if r["config"].get("ensemble") == "architectures"]
    if others:
        result["architectures"] = _evaluate_ensemble(out, seeds[:3] + others)
    return result


ANALYSES = {"ensemble": evaluate_ensemble}


def ensemble_table(ensemble):
    """Lab 5's ensembles side by side: one row per method, one column per ensemble.

    Args:
        ensemble: the dict `evaluate_ensemble` returns (`ensemble.json`).
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
    body = ["| " + row["method"] + " | " + " | ".join(format_value(row[name], fmt[row["method"]]) for name, _ in groups)
            + " |" for row in table]
    return "\n".join(header + body) + f"\n\nScored on {ensemble.get('evaluated_on', MISSING)} test images."


def figures(results, analyses):
    """The curves and final accuracies, accuracy under corruption and reliability diagrams
    (with the seed ensemble's average)."""
    return training_figures("lab5", results) + robustness_figures("lab5", results, analyses.get("ensemble"))


def page_figures(results, analyses=None):
    """The figures of the book's lab page: reliability of one seed, MixUp, CutMix and the
    seed ensemble's average, and accuracy on corrupted test images."""
    from keraslab import plots

    by_name = {r["name"]: r for r in results}
    diagrams = {n: by_name[n]["reliability"] for n in ("plain-seed0", "mixup", "cutmix")}
    ensemble = (analyses or {}).get("ensemble")
    if ensemble:
        diagrams["average of 5 seeds (odd half)"] = ensemble["reliability_average"]
    return {"calibration": [
        Figure("page_reliability.png", plots.plot_reliability, (diagrams,), {"title": "Reliability on the test images"}),
        Figure("page_corrupted.png", plots.plot_bars,
               ({r["name"]: 100 * r["corruption_mean_accuracy"] for r in results},),
               {"ylabel": "accuracy (%)", "title": "Accuracy on corrupted test images (mean of 4 kinds)"}),
    ]}
