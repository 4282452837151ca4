"""Lab 5, advanced: MixUp, CutMix, ensembles of seeds and of architectures, calibration and
corrupted inputs; the ensembles are evaluated from the runs' saved predictions.

The design, fixed before any result was seen:

- The recipe is a small ConvNet with BatchNorm (16-16-32-32-64-64 channels, max-pooling after
  each pair), Adam at 1e-3 (the optimizer's usual default, stable with BatchNorm; not searched),
  batches of 64, random crops and flips, a fixed 20 epochs on 2,000 images at cpu scale. No
  early stopping and no model choice: the test set is watched, never used to choose.
- Seed ensemble: three seeds of the recipe. Architecture ensemble, of the same size: the first
  seed, a ResNet (residual branches at their random initialization) and the ConvNet with
  GroupNorm instead of BatchNorm, so the two ensembles differ in diversity, not in size.
- MixUp and CutMix ($\\alpha = 1$) on top of the same recipe: their baseline is the recipe's seeds.
- Repetition: every configuration runs over three repeats (seeds seed + 1000 k). Repeat k has
  its own seed ensemble (the `plain-seed*` runs of repeat k) and architecture ensemble, so the
  ensembles' gains come as three values, one per repeat, and their spread is over repeats.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from keraslab.labs.figures import first_repeats, robustness_figures, training_figures
from keraslab.labs.spec import Claim, Figure, Verdict
from keraslab.train.report import percent
from keraslab.train.results import configuration_of
from keraslab.train.stats import MISSING, spread_text, welch_text

TITLE = "Advanced: MixUp, CutMix, ensembles of seeds and of architectures, calibration, corrupted inputs"
ALIASES = ("advanced",)
BASE = {
    "dataset": "cifar10", "model": "convnet", "normalization": "batch", "optimizer": "adam",
    "learning_rate": 1e-3, "batch_size": 64, "epochs": 40, "train_size": 10000, "test_size": 2000,
    "filters": [16, 16, 32, 32, 64, 64],
    "augment": "standard", "target_accuracy": 0.7, "early_stopping_patience": None,
    "diagnostics": ["calibration", "corruptions"], "save_predictions": True,
}
SEEDS = 3
GRID = (
    [{"name": f"plain-seed{s}", "seed": s, "ensemble": "plain"} for s in range(SEEDS)]
    # A CIFAR-style ResNet of the same width (three stages of one basic block, 16-32-64 channels).
    + [{"name": "resnet", "model": "resnet", "filters": [16, 32, 64], "blocks_per_stage": [1, 1, 1],
        "zero_init_residual": False, "ensemble": "architectures"},
       {"name": "convnet-groupnorm", "normalization": "group", "ensemble": "architectures"},
       {"name": "mixup", "augment": {"crop_padding": 4, "flip": True, "mix": "mixup", "mix_alpha": 1.0}},
       {"name": "cutmix", "augment": {"crop_padding": 4, "flip": True, "mix": "cutmix", "mix_alpha": 1.0}}]
)
SCALES = {
    "fast": {"train_size": 256, "test_size": 128, "epochs": 1, "filters": [8, 8, 16, 16, 32, 32]},
    "cpu": {"train_size": 2000, "test_size": 1000, "epochs": 20},
    # The course runs lab 5 on CIFAR-100; the smaller scales keep 10 classes, which a few
    # thousand images can learn.
    "full": {"dataset": "cifar100", "train_size": None, "test_size": None, "epochs": 100},
}
REPEATS = {"cpu": 3}  # the full scale (the notebook's) stays one repeat, within the course's 120 minutes
TABLE = [
    ("run", "name", "{}"), ("test accuracy (%)", percent("final_accuracy"), "{:.1f}"),
    ("ECE", "ece", "{:.3f}"), ("accuracy, corrupted (%)", percent("corruption_mean_accuracy"), "{:.1f}"),
    ("ECE, corrupted", "corruption_ece", "{:.3f}"),
]
_SEEDS = tuple(f"plain-seed{s}" for s in range(SEEDS))
_ARCHITECTURES = ("resnet", "convnet-groupnorm")


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


def repeat_of(name):
    """The repeat index of a run name (`plain-seed0-r2` -> 2; a name without a repeat -> 0)."""
    configuration = configuration_of(name)
    return int(name[len(configuration) + 2:]) if configuration != name else 0


def architecture_members(seeds, others):
    """The architecture ensemble: the first seeds and the other architectures, as many members
    as the seed ensemble has (at least one seed), so the two differ in diversity, not size."""
    return seeds[:max(1, len(seeds) - len(others))] + others


def evaluate_ensemble(out, results):
    """Ensembles lab 5's runs from their saved predictions, once per repeat.

    For each repeat: the same recipe with different seeds (runs whose config has
    `ensemble="plain"`) and, when the grid has them, different architectures
    (`architecture_members`: the first seed and the runs with `ensemble="architectures"`).
    The test predictions are split in two halves by index parity: the even half fits the
    stacking combiner, the odd half evaluates every method (members included), so stacking is
    never scored on data it was fitted to. When the runs saved predictions on corrupted test
    images, averaging is also scored on those (`corrupted`, `corrupted_mean`).

    Returns:
        `{"repeats": [one dict per repeat]}`, each the seed ensemble's scores (see
        `keraslab.ensemble.evaluate`, plus `repeat`, `ece_members`, `ece_average`,
        `reliability_average`, `evaluated_on`) with the architecture ensemble's under
        `architectures`; None when no repeat has two seeds.
    """
    repeats = sorted({repeat_of(r["name"]) for r in results})
    evaluated = []
    for repeat in repeats:
        mine = [r for r in results if repeat_of(r["name"]) == repeat]
        seeds = [r for r in mine if r["config"].get("ensemble") == "plain"]
        if len(seeds) < 2:
            continue
        result = {"repeat": repeat, **_evaluate_ensemble(out, seeds)}
        others = [r for r in mine if r["config"].get("ensemble") == "architectures"]
        if others:
            result["architectures"] = _evaluate_ensemble(out, architecture_members(seeds, others))
        evaluated.append(result)
    return {"repeats": evaluated} if evaluated else None


ANALYSES = {"ensemble": evaluate_ensemble}


def gain_over_mean_member(ensemble):
    """Averaging's accuracy minus the mean member's, in points."""
    return 100 * (ensemble["average"] - ensemble["mean_member"])


def gain_over_best_member(ensemble):
    """Averaging's accuracy minus the best member's, in points."""
    return 100 * (ensemble["average"] - ensemble["best_member"])


def mean_member_ece(ensemble):
    return float(np.mean(list(ensemble["ece_members"].values())))


_ENSEMBLE_ROWS = [
    ("best member (%)", lambda e: 100 * e["best_member"], "{:.1f}"),
    ("mean member (%)", lambda e: 100 * e["mean_member"], "{:.1f}"),
    ("averaging (%)", lambda e: 100 * e["average"], "{:.1f}"),
    ("averaging - mean member (points)", gain_over_mean_member, "{:+.1f}"),
    ("averaging - best member (points)", gain_over_best_member, "{:+.1f}"),
    ("majority vote (%)", lambda e: 100 * e["vote"], "{:.1f}"),
    ("stacking (%)", lambda e: 100 * e["stacking"] if "stacking" in e else None, "{:.1f}"),
    ("ECE, mean member", mean_member_ece, "{:.3f}"),
    ("ECE, averaging", lambda e: e["ece_average"], "{:.3f}"),
    ("corrupted: mean member (%)",
     lambda e: 100 * e["corrupted_mean"]["mean_member"] if "corrupted_mean" in e else None, "{:.1f}"),
    ("corrupted: averaging (%)",
     lambda e: 100 * e["corrupted_mean"]["average"] if "corrupted_mean" in e else None, "{:.1f}"),
    ("corrupted: ECE, mean member",
     lambda e: e["corrupted_mean"]["ece_mean_member"] if "corrupted_mean" in e else None, "{:.3f}"),
    ("corrupted: ECE, averaging",
     lambda e: e["corrupted_mean"]["ece_average"] if "corrupted_mean" in e else None, "{:.3f}"),
]


def ensemble_values(ensemble, kind, get):
    """One quantity of one ensemble kind ("seeds" or "architectures") over the repeats."""
    values = []
    for repeat in ensemble["repeats"]:
        scores = repeat if kind == "seeds" else repeat.get("architectures")
        value = None if scores is None else get(scores)
        if value is not None:
            values.append(float(value))
    return values


def ensemble_table(ensemble):
    """Lab 5's ensembles side by side: one row per method, one column per ensemble kind, each
    cell the mean ± sample standard deviation over the repeats.

    Args:
        ensemble: the dict `evaluate_ensemble` returns (`ensemble.json`).
    """
    first = ensemble["repeats"][0]
    kinds = [("seeds", first)] + ([("architectures", first["architectures"])] if first.get("architectures") else [])
    header = ["| method | " + " | ".join(f"{kind} ({len(e['members'])} models)" for kind, e in kinds) + " |",
              "| --- | " + " | ".join("---" for _ in kinds) + " |"]
    body = []
    for label, get, fmt in _ENSEMBLE_ROWS:
        cells = []
        for kind, _ in kinds:
            cells.append(spread_text(ensemble_values(ensemble, kind, get), fmt))
        body.append(f"| {label} | " + " | ".join(cells) + " |")
    repeats = len(ensemble["repeats"])
    return "\n".join(header + body) + (f"\n\nScored on {first.get('evaluated_on', MISSING)} test images, "
                                        f"mean ± std over {repeats} repeat{'s' if repeats > 1 else ''}.")


def _values(groups, names, key):
    return [r[key] for name in names for r in groups.get(name, []) if r.get(key) is not None]




def _judge_gain(groups, analyses):
    ensemble = analyses.get("ensemble")
    if not ensemble:
        return Verdict("not testable at this scale", "no ensemble analysis (fewer than two seeds per repeat).")
    gains = ensemble_values(ensemble, "seeds", gain_over_mean_member)
    best = ensemble_values(ensemble, "seeds", gain_over_best_member)
    average = ensemble_values(ensemble, "seeds", lambda e: 100 * e["average"])
    members = ensemble_values(ensemble, "seeds", lambda e: 100 * e["mean_member"])
    _, different, p = welch_text(average, members)
    mean = sum(gains) / len(gains)
    status = "reproduced" if different and 1 <= mean <= 3 else "not reproduced"
    size = len(ensemble["repeats"][0]["members"])
    return Verdict(status, f"averaging {size} seeds gains {spread_text(gains, '{:+.1f}')} points over the mean member "
                           f"(per repeat: {', '.join(f'{g:+.1f}' for g in gains)}; {p} for averaging "
                           f"against the mean member) and {spread_text(best, '{:+.1f}')} over the best member.")


def _judge_diversity(groups, analyses):
    ensemble = analyses.get("ensemble")
    if not ensemble or not ensemble["repeats"][0].get("architectures"):
        return Verdict("not testable at this scale", "no architecture ensemble in these runs.")
    seeds = ensemble_values(ensemble, "seeds", gain_over_mean_member)
    archs = ensemble_values(ensemble, "architectures", gain_over_mean_member)
    accuracy = {kind: ensemble_values(ensemble, kind, lambda e: 100 * e["average"]) for kind in ("seeds", "architectures")}
    difference, different, p = welch_text(archs, seeds)
    status = "reproduced" if different and difference > 0 else "not reproduced"
    return Verdict(status, f"gain of averaging over the mean member: architectures {spread_text(archs, '{:+.1f}')}, seeds "
                           f"{spread_text(seeds, '{:+.1f}')} points ({p}); ensemble accuracy "
                           f"{spread_text(accuracy['architectures'])} % against {spread_text(accuracy['seeds'])} %.")


def _judge_mixing(key, label, lower_is_better, scale, fmt):
    def judge(groups, analyses=None):
        plain = [scale * v for v in _values(groups, _SEEDS, key)]
        parts, holds = [], True
        for name in ("mixup", "cutmix"):
            values = [scale * v for v in _values(groups, (name,), key)]
            difference, different, p = welch_text(values, plain)
            better = difference < 0 if lower_is_better else difference > 0
            holds = holds and different and better
            parts.append(f"{name} {spread_text(values, fmt)} ({difference:+.3g}, {p})")
        return Verdict("reproduced" if holds else "not reproduced",
                       f"{label}: plain seeds {spread_text(plain, fmt)} ({len(plain)} runs); " + "; ".join(parts) + ".")

    return judge


def _judge_shift(groups, analyses):
    ensemble = analyses.get("ensemble")
    if not ensemble or "corrupted_mean" not in ensemble["repeats"][0]:
        return Verdict("not testable at this scale", "no ensemble scores on corrupted images.")
    checks = {
        "ECE on clean images": (ensemble_values(ensemble, "seeds", lambda e: e["ece_average"]),
                                ensemble_values(ensemble, "seeds", mean_member_ece), True, "{:.3f}"),
        "ECE on corrupted images": (
            ensemble_values(ensemble, "seeds", lambda e: e["corrupted_mean"]["ece_average"]),
            ensemble_values(ensemble, "seeds", lambda e: e["corrupted_mean"]["ece_mean_member"]), True, "{:.3f}"),
        "accuracy on corrupted images (%)": (
            ensemble_values(ensemble, "seeds", lambda e: 100 * e["corrupted_mean"]["average"]),
            ensemble_values(ensemble, "seeds", lambda e: 100 * e["corrupted_mean"]["mean_member"]), False, "{:.1f}"),
    }
    parts, holds = [], True
    for label, (averaged, members, lower_is_better, fmt) in checks.items():
        difference, different, p = welch_text(averaged, members)
        holds = holds and different and (difference < 0 if lower_is_better else difference > 0)
        parts.append(f"{label}: averaging {spread_text(averaged, fmt)}, mean member {spread_text(members, fmt)} ({p})")
    return Verdict("reproduced" if holds else "not reproduced", "; ".join(parts) + ", over repeats.")


CLAIMS = [
    Claim("An ensemble of 3-10 models gains typically 1-3 % accuracy over its members",
          ("ensemble.average", "ensemble.best_member", "ensemble.mean_member"), _SEEDS, {"gain": "1-3 %"},
          judge=_judge_gain),
    Claim("Diversity from different architectures helps an ensemble more than different seeds",
          ("ensemble.average", "ensemble.architectures.average"), _SEEDS + _ARCHITECTURES, judge=_judge_diversity),
    Claim("MixUp and CutMix improve calibration", ("ece", "reliability"), _SEEDS + ("mixup", "cutmix"),
          judge=_judge_mixing("ece", "ECE", True, 1.0, "{:.3f}")),
    Claim("MixUp and CutMix improve robustness to corrupted inputs",
          ("corruption_mean_accuracy", "corruption_ece"), _SEEDS + ("mixup", "cutmix"),
          judge=_judge_mixing("corruption_mean_accuracy", "accuracy on corrupted images (%)", False, 100.0, "{:.1f}")),
    Claim("Averaging an ensemble improves calibration and robustness under distribution shift",
          ("ensemble.ece_average", "ensemble.ece_members", "ensemble.corrupted_mean"), _SEEDS, judge=_judge_shift),
]


def figures(results, analyses):
    """The curves and final accuracies, accuracy under corruption and reliability diagrams
    (with the first repeat's seed ensemble's average)."""
    ensemble = analyses.get("ensemble")
    first = ensemble["repeats"][0] if ensemble else None
    return training_figures("lab5", results) + robustness_figures("lab5", results, first)


def page_figures(results, analyses=None):
    """The figures of the book's lab page: reliability of one seed, MixUp, CutMix and the seed
    ensemble's average (first repeat), and accuracy on corrupted test images (mean over repeats)."""
    from keraslab import plots
    from keraslab.labs.figures import mean_over_repeats

    by_name = {r["name"]: r for r in first_repeats(results)}
    diagrams = {n: by_name[n]["reliability"] for n in ("plain-seed0", "mixup", "cutmix")}
    ensemble = (analyses or {}).get("ensemble")
    if ensemble:
        first = ensemble["repeats"][0]
        diagrams[f"average of {len(first['members'])} seeds (odd half)"] = first["reliability_average"]
    corrupted = {name: 100 * value for name, value in mean_over_repeats(results, "corruption_mean_accuracy").items()}
    return {"calibration": [
        Figure("page_reliability.png", plots.plot_reliability, (diagrams,),
               {"title": "Reliability on the test images (first repeat)"}),
        Figure("page_corrupted.png", plots.plot_bars, (corrupted,),
               {"ylabel": "accuracy (%)", "title": "Accuracy on corrupted test images (mean of 4 kinds and of the repeats)"}),
    ]}
