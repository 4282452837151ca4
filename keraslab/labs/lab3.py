"""Lab 3, regularization: element-wise dropout, SpatialDropout and DropBlock at the rates
0.2, 0.3 and 0.5, data augmentation, and dropout with augmentation, on a ConvNet that
over-fits a small Fashion-MNIST training set; read through the generalization gap.

The design, fixed before the grid's runs. Trial runs of single configurations (none,
dropout 0.5, augmentation, DropBlock 0.5) chose the network's width, the epochs and the learning
rate, for an over-fitting regime within the time budget; a pilot with the final design, at seeds
the grid does not use, set only the number of seeds (see `PILOT`):

- data: 1,250 Fashion-MNIST training images drawn once (the same for every seed, inside the
  course's 1,000-5,000), of which 250 are held out for validation, so 1,000 train the model;
  2,000 test images (drawn once) score it. The validation images are only watched (the per-epoch
  curves); nothing is chosen on them, and nothing on the test images;
- model: the labs' ConvNet, six 3x3 convolutions (8, 16, 32, 32, 64, 64 channels, He
  initialization, ReLU) in pairs, each pair followed by 2x2 max-pooling (28x28 -> 14x14 -> 7x7
  -> 3x3), global average pooling and a 256-unit dense layer: without regularization it fits
  98-99 % of its 1,000 training images while its test accuracy stays about 18 points lower and
  its validation loss turns up after epoch 12-17 of 22 (the pilot), the over-fitting regime the
  lab needs. A wider network or more epochs did not fit the time budget. **No normalization
  layer**: with BatchNorm after a dropout layer, switching dropout off at inference changes
  the variance of what BatchNorm normalizes with statistics gathered under dropout (the
  variance shift), and the inference-mode training accuracy falls below the training-mode
  one, which confounds the gap this lab reads. Without normalization nothing downstream of a
  dropped unit depends on statistics collected in training mode;
- regularizers: one layer after the first pooling stage, on the 14x14 map (`drop_stages=1`),
  the same place for the three kinds, so they differ only in what they drop. A 7x7 block (the
  course's block size) covers a quarter of a 14x14 map; on the next map, 7x7, it would be the
  whole map (the kit's DropBlock shares its mask across channels, so it would drop a sample's
  whole stage-2 signal), and on 3x3 more than all of it. Rates 0.2, 0.3 and 0.5 for each kind;
- augmentation (`AUGMENT`), chosen for clothing: horizontal flips (a mirrored shirt or shoe
  is still one; a vertical flip gives upside-down garments the test set never shows, so none),
  shifts of up to 2 pixels by padding and cropping (the garments are centred and fill most of
  the 28x28 frame: the CIFAR recipe's 4 pixels of 32 would cut trouser legs and sleeves off),
  rotations of up to 15 degrees (the course's figure; garments are photographed upright, so a
  small tilt is label-preserving) and brightness/contrast jitter of 0.1 (garments of one class
  come in every shade; kept small because every Fashion-MNIST background is black);
- training: 22 epochs for every run (704 optimizer steps of batch 32), Adam at 3e-3 decayed to 0
  by a cosine schedule, so every run ends at a stable point with the same budget; no early
  stopping. (At 1e-3 the unregularized network fitted only 94-96 % of its training images in
  this budget, and its validation loss was lowest near the end: too weak an over-fitting
  regime.) Train accuracy is measured in inference mode (no dropout, no augmentation) on the
  1,000 training images, test accuracy on the 2,000 test images, with the final weights;
- seeds: `REPEATS` per configuration (a seed changes the initial weights, the masks, the batch
  order and the augmentations; the images do not): at the pilot's spreads, taken at their 80 %
  upper confidence limits, the fewest at which Welch's test could call the smallest effects the
  claims against no regularization are judged at (`pilot_seeds`), and at least 3; the claims
  table's "detectable" column says whether each comparison could;
- verdicts: the course's figures are single CIFAR-10 runs, so its absolute accuracies do not
  carry over; its *effects* do, measured in shares of the unregularized gap (see
  `course_effects`): dropout 0.5 removes 15 of the 25 gap points (60 %) and turns 8 of them
  (32 %) into validation accuracy; augmentation 80 % and 40 %; both together 100 % and 48 %. A
  claim is reproduced when Welch's test calls the difference and it is at least half that
  share of this grid's unregularized gap (`CLAIM_SHARE`), inconclusive when the test could
  not have seen that much, not reproduced otherwise. The course gives no size for "SpatialDropout
  and DropBlock regularize conv layers better than dropout": judged from 1 point of test
  accuracy at every rate (`STRUCTURED_POINTS`). A claim that needs several comparisons takes the
  weakest of their verdicts (`combined`).
"""

from __future__ import annotations

import math

from keraslab.labs.figures import bar_figure, first_repeats, mean_over_repeats, training_figures
from keraslab.labs.spec import Claim, Figure, Verdict, complete_grid
from keraslab.train.report import percent
from keraslab.train.results import group_repeats
from keraslab.train.stats import MISSING, Spread, compare, spread_text

TITLE = "Regularization: dropout, SpatialDropout, DropBlock and augmentation on a small training set"
ALIASES = ("regularization",)
KINDS = ("dropout", "spatial", "dropblock")
RATES = (0.2, 0.3, 0.5)
# Chosen for clothing (see the module docstring): flips left-right only, 2-pixel shifts,
# 15-degree rotations, brightness/contrast jitter of 0.1.
AUGMENT = {"crop_padding": 2, "flip": True, "rotation": 15.0, "color_jitter": 0.1}
TRAIN_IMAGES, VALIDATION_IMAGES, TEST_IMAGES = 1_000, 250, 2_000
BASE = {
    "dataset": "fashion_mnist", "train_size": TRAIN_IMAGES + VALIDATION_IMAGES,
    "validation_split": VALIDATION_IMAGES / (TRAIN_IMAGES + VALIDATION_IMAGES), "test_size": TEST_IMAGES,
    "model": "convnet", "normalization": "none", "filters": [8, 16, 32, 32, 64, 64], "dense_units": 256,
    "initializer": "he", "activation": "relu", "drop_stages": 1, "block_size": 7,
    "optimizer": "adam", "learning_rate": 3e-3, "learning_rate_schedule": "cosine", "batch_size": 32,
    "epochs": 22, "steps_per_execution": 16, "early_stopping_patience": None, "train_eval_size": TRAIN_IMAGES,
}
BOTH = "dropout-0.5+augment"


def _grid():
    grid = [{"name": "none", "regularizer": "none"}]
    grid += [{"name": f"{kind}-{p}", "regularizer": kind, "rate": p} for kind in KINDS for p in RATES]
    grid.append({"name": "augment", "regularizer": "none", "augment": AUGMENT})
    grid.append({"name": BOTH, "regularizer": "dropout", "rate": 0.5, "augment": AUGMENT})
    return grid


GRID = _grid()
SCALES = {
    "fast": {"train_size": 160, "test_size": 128, "epochs": 2, "train_eval_size": 128, "steps_per_execution": 1},
    "cpu": {},
    # Colab with a GPU: the course's dataset from TFDS (CIFAR-10), its upper end of 5,000 training
    # images, a wider network, longer training.
    "full": {"dataset": "cifar10", "train_size": 6_250, "test_size": None, "filters": [32, 32, 64, 64, 128, 128],
             "epochs": 60},
}
# The pilot: the unregularized configuration with this design at seeds the grid does not use
# (`keraslab run lab3 --scale cpu --offline --only none --set seed=7000`); test accuracy (%) and
# gap (points) per seed. It set only the number of seeds: `pilot_seeds(0.8)`, at least 3.
PILOT = {"seeds": (7000, 8000, 9000), "final_accuracy": (80.5, 79.7, 80.35),
         "generalization_gap": (18.0, 19.0, 18.45)}
REPEATS = {"cpu": 3}  # max(3, pilot_seeds(0.8))

# A claim is reproduced from this share of the course's effect (scaled to this grid's gap):
# the course's figures are single runs on another dataset, so a narrower band would judge their noise.
CLAIM_SHARE = 0.5
# The over-fitting regime the lab needs: an unregularized gap of at least this many points.
LARGE_GAP_POINTS = 10.0
# The course gives no size for "SpatialDropout and DropBlock regularize conv layers better than
# dropout": a test-accuracy difference from this many points counts (fixed before the runs).
STRUCTURED_POINTS = 1.0

# The course's table: (label, configuration, train accuracy %, validation accuracy %).
COURSE_TABLE = (("none", "none", 95, 70), ("dropout 0.5", "dropout-0.5", 88, 78),
                ("augmentation", "augment", 85, 80), ("both", BOTH, 82, 82))


def lowest_loss_epoch(row):
    """The epoch (from 1) of a run's lowest validation loss (None without a history). The
    learning rate decays to 0, so the last epochs hardly move the weights: a minimum well
    before them shows over-fitting; one at the end, that the loss never turned up."""
    losses = row.get("history", {}).get("val_loss") or []
    return 1 + min(range(len(losses)), key=losses.__getitem__) if losses else None


TABLE = [
    ("run", "name", "{}"), ("train accuracy (%)", percent("final_train_accuracy"), "{:.1f}"),
    ("test accuracy (%)", percent("final_accuracy"), "{:.1f}"),
    ("gap (points)", percent("generalization_gap"), "{:.1f}"),
    ("lowest validation loss at epoch", lowest_loss_epoch, "{}"),
]


def course_effects():
    """`{configuration: (share of the gap removed, share of the gap gained as validation
    accuracy)}` of the course's table, against its unregularized row (25 points of gap)."""
    _, _, train0, val0 = COURSE_TABLE[0]
    gap0 = train0 - val0
    return {name: ((gap0 - (train - val)) / gap0, (val - val0) / gap0) for _, name, train, val in COURSE_TABLE[1:]}


def seeds_for(std, effect, alpha=0.05, most=12):
    """The fewest seeds per configuration at which Welch's two-sided test at `alpha` would call
    a difference of `effect` between two configurations whose seeds both spread by `std`
    (`keraslab.train.stats.smallest_detectable_difference` at equal spreads); `most` when even
    that many are not enough.

    Raises:
        ValueError: for a spread or an effect that is not positive.
    """
    if not (std > 0 and effect > 0):
        raise ValueError(f"`std` and `effect` must be positive. Received: std={std!r}, effect={effect!r}")
    from scipy import stats

    for n in range(2, most + 1):
        if stats.t.ppf(1 - alpha / 2, 2 * (n - 1)) * std * math.sqrt(2 / n) <= effect:
            return n
    return most


def pilot_effects():
    """`{field: effect in points}`: the smallest effects the claims against no regularization are
    judged at, on the pilot's gap: half the course's share of the gap that dropout 0.5 (the
    smallest of the course's effects) removes (60 %) and turns into validation accuracy (32 %)."""
    gap = Spread(tuple(map(float, PILOT["generalization_gap"]))).mean
    effects = course_effects().values()
    return {"generalization_gap": CLAIM_SHARE * min(removed for removed, _ in effects) * gap,
            "final_accuracy": CLAIM_SHARE * min(gained for _, gained in effects) * gap}


def pilot_seeds(spread_confidence=None):
    """The seeds per configuration the pilot asks for: the most `seeds_for` needs over the
    pilot's two measurements (test accuracy, gap), each at its own spread and effect
    (`pilot_effects`). `spread_confidence`: take each spread at its one-sided upper confidence
    limit (chi-square), as a pilot of three seeds underestimates a spread as often as not;
    None: the pilot's own spreads."""
    from scipy import stats

    needed = []
    for field, effect in pilot_effects().items():
        spread = Spread(tuple(map(float, PILOT[field])))
        std = spread.std
        if spread_confidence is not None:
            std *= math.sqrt((spread.n - 1) / stats.chi2.ppf(1 - spread_confidence, spread.n - 1))
        needed.append(seeds_for(std, effect))
    return max(needed)


def _points(group, field):
    return [100 * r[field] for r in group]


def _gap_points(groups):
    """The unregularized configuration's mean gap, in points: the unit of the course's effects."""
    return Spread(tuple(_points(groups["none"], "generalization_gap"))).mean


def combined(statuses):
    """One verdict from several comparisons that a claim needs together: reproduced when every
    one is, not reproduced when any is, inconclusive otherwise."""
    statuses = list(statuses)
    if all(s == "reproduced" for s in statuses):
        return "reproduced"
    return "not reproduced" if "not reproduced" in statuses else "inconclusive"


def _describe(groups, name):
    train, test, gap = (spread_text(_points(groups[name], f))
                        for f in ("final_train_accuracy", "final_accuracy", "generalization_gap"))
    return f"{name}: train {train} %, test {test} %, gap {gap} points"


def _judged(a, b, claimed):
    """`(status, text, observed, detectable)` of the claim that `mean(a) - mean(b)` (points) is at
    least `claimed`, or, for a negative `claimed`, at least that much lower."""
    sign = 1 if claimed > 0 else -1
    comparison = compare([sign * v for v in a], [sign * v for v in b])
    status = comparison.verdict(abs(claimed))
    observed = f"{round(sign * comparison.difference, 1) + 0.0:+.1f}"  # + 0.0: no "-0.0"
    called = f"Welch p = {comparison.p:.2g}" if not math.isnan(comparison.p) else "no Welch test: no spread"
    detectable = MISSING if math.isnan(comparison.detectable) else f"{comparison.detectable:.1f}"
    return status, f"{observed} points ({called})", observed, detectable


def _compared(groups, a, b, field, claimed):
    """`_judged` on one result field of two configurations, its text naming them."""
    status, text, observed, detectable = _judged(_points(groups[a], field), _points(groups[b], field), claimed)
    return status, f"{a} - {b}: {text}", observed, detectable


def _judge_overfits(groups):
    none = groups["none"]
    status, text, observed, detectable = _judged(_points(none, "final_train_accuracy"),
                                                 _points(none, "final_accuracy"), LARGE_GAP_POINTS)
    seeds = f"{len(none)} seed{'' if len(none) == 1 else 's'}"
    return Verdict(status, f"{_describe(groups, 'none')} ({seeds}); train - test accuracy {text}. The "
                           f"over-fitting regime: a gap Welch's test calls, of at least {LARGE_GAP_POINTS:.0f} points "
                           "(the course's 25 is a CIFAR-10 figure).",
                   claimed=f"gap 25 points (95 / 70 %, CIFAR-10); here from {LARGE_GAP_POINTS:.0f}",
                   observed=f"{observed} points", detectable=f"{detectable} points")


def _judge_regularizer(name):
    """Course claim: `name` narrows the gap and raises held-out accuracy, by the course's shares."""
    def judge(groups):
        gap = _gap_points(groups)
        removed, gained = course_effects()[name]
        parts = [_compared(groups, name, "none", "generalization_gap", -CLAIM_SHARE * removed * gap),
                 _compared(groups, name, "none", "final_accuracy", CLAIM_SHARE * gained * gap)]
        return Verdict(combined(p[0] for p in parts),
                       f"{_describe(groups, name)}. Gap {parts[0][1]}; test accuracy {parts[1][1]}. The "
                       f"course's effect is {removed * 100:.0f} % of the gap removed and {gained * 100:.0f} % "
                       f"gained; here, with a gap of {gap:.1f} points, reproduced from half of each.",
                       claimed=f"gap -{removed * gap:.1f}, test +{gained * gap:.1f} points "
                               f"({removed * 100:.0f} % and {gained * 100:.0f} % of the gap)",
                       observed=f"gap {parts[0][2]}, test {parts[1][2]} points",
                       detectable=f"gap {parts[0][3]}, test {parts[1][3]} points")

    return judge


def _judge_both(groups):
    gap = _gap_points(groups)
    effects = course_effects()
    removed, gained = effects[BOTH]
    parts = [_compared(groups, BOTH, "none", "generalization_gap", -CLAIM_SHARE * removed * gap)]
    for other in ("dropout-0.5", "augment"):
        share = gained - effects[other][1]
        parts.append(_compared(groups, BOTH, other, "final_accuracy", CLAIM_SHARE * share * gap))
    return Verdict(combined(p[0] for p in parts),
                   f"{_describe(groups, BOTH)}. Gap {parts[0][1]}; test accuracy {parts[1][1]}; {parts[2][1]}. "
                   f"Reproduced when the gap narrows by half the course's share ({removed * 100:.0f} %) and the test "
                   "accuracy beats each alone by half the course's margin (4 and 2 of 25 points).",
                   claimed=f"gap -{removed * gap:.1f}; test +{(gained - effects['dropout-0.5'][1]) * gap:.1f} "
                           f"and +{(gained - effects['augment'][1]) * gap:.1f} points",
                   observed="; ".join(p[2] for p in parts), detectable="; ".join(p[3] for p in parts))


def _judge_structured(kind):
    """Course claim: `kind` regularizes conv layers better than element-wise dropout, at every rate."""
    def judge(groups):
        parts = [_compared(groups, f"{kind}-{p}", f"dropout-{p}", "final_accuracy", STRUCTURED_POINTS)
                 for p in RATES]
        return Verdict(combined(p[0] for p in parts),
                       f"test accuracy at the same rate: {'; '.join(p[1] for p in parts)}. The course gives no size: "
                       f"reproduced when {kind} is higher by {STRUCTURED_POINTS:.0f} point or more at every rate.",
                       claimed=f"higher test accuracy (no size given; from {STRUCTURED_POINTS:.0f} point)",
                       observed=", ".join(f"{p}: {part[2]}" for p, part in zip(RATES, parts, strict=True)),
                       detectable=", ".join(f"{p}: {part[3]}" for p, part in zip(RATES, parts, strict=True)))

    return judge


def _claim_text(label, name, train, val):
    return f"{label}: {train} % train, {val} % validation, a gap of {train - val} points"


CLAIMS = [
    Claim("No regularization: 95 % train, 70 % validation, a gap of 25 points (the model over-fits)",
          ("final_train_accuracy", "final_accuracy", "generalization_gap"), ("none",),
          {"final_train_accuracy": 95, "final_accuracy": 70, "generalization_gap": 25}, judge=_judge_overfits),
    *[Claim(_claim_text(label, name, train, val) + " (narrower gap, higher validation accuracy than none)",
            ("final_train_accuracy", "final_accuracy", "generalization_gap"), ("none", name),
            {"final_train_accuracy": train, "final_accuracy": val, "generalization_gap": train - val},
            judge=_judge_regularizer(name))
      for label, name, train, val in COURSE_TABLE[1:3]],
    Claim(_claim_text("Dropout 0.5 with augmentation", BOTH, 82, 82) + " (the best validation accuracy of the four)",
          ("final_train_accuracy", "final_accuracy", "generalization_gap"), ("none", "dropout-0.5", "augment", BOTH),
          {"final_train_accuracy": 82, "final_accuracy": 82, "generalization_gap": 0}, judge=_judge_both),
    Claim("SpatialDropout (whole channels) regularizes conv layers better than element-wise dropout",
          ("final_accuracy",), tuple(f"{k}-{p}" for k in ("dropout", "spatial") for p in RATES),
          judge=_judge_structured("spatial")),
    Claim("DropBlock (block_size 7, contiguous regions) is better for CNNs than element-wise dropout",
          ("final_accuracy",), tuple(f"{k}-{p}" for k in ("dropout", "dropblock") for p in RATES),
          judge=_judge_structured("dropblock")),
]


def figures(results, analyses):
    """The curves and final accuracies, and the generalization gap per configuration."""
    own = [bar_figure("generalization_gap.png", results, "generalization_gap",
                      "train accuracy - test accuracy (mean over seeds)", "lab3: generalization gap")]
    return training_figures("lab3", results) + own


# The configurations whose curves the book's page shows.
PAGE_CURVES = ("none", "dropout-0.5", "dropblock-0.5", "augment", BOTH)


def page_figures(results, analyses=None):
    """The figures of the book's lab page: the gap in points (mean over seeds), and the
    validation loss and the accuracy curves of a few configurations (first seed)."""
    from keraslab import plots

    gaps = {name: 100 * gap for name, gap in mean_over_repeats(results, "generalization_gap").items()}
    by_name = {r["name"]: r for r in first_repeats(results)}
    histories = {n: by_name[n]["history"] for n in PAGE_CURVES}
    return {"gap": [
        Figure("page_gap.png", plots.plot_bars, (gaps,),
               {"ylabel": "train - test accuracy (points, mean over seeds)", "title": "Generalization gap"}),
        Figure("page_loss.png", plots.plot_curves, (histories, "loss"),
               {"title": "Loss per epoch, first seed (solid: training batches, dashed: validation)"}),
        Figure("page_accuracy.png", plots.plot_curves, (histories, "accuracy"),
               {"title": "Accuracy per epoch, first seed (solid: training batches, dashed: validation)"}),
    ]}


def check(results):
    """The design the page describes, checked on the results (the page and pytest both run it).

    Raises:
        AssertionError: naming what differs.
    """
    groups = complete_grid(results, GRID, REPEATS["cpu"])
    for r in results:
        config, data = r["config"], r["data"]
        assert data["source"].startswith("idx:"), f"{r['name']} read {data['source']}"
        assert (data["train_size"], data["validation_size"], data["test_size"]) == (
            TRAIN_IMAGES, VALIDATION_IMAGES, TEST_IMAGES), f"{r['name']}: {data}"
        assert config["normalization"] == "none", f"{r['name']}: a normalization layer ({config['normalization']})"
        assert (config["drop_stages"], config["block_size"], config["filters"], config["dense_units"]) == (
            1, 7, BASE["filters"], BASE["dense_units"]), f"{r['name']}: {config}"
        assert (config["optimizer"], config["learning_rate"], config["learning_rate_schedule"], config["batch_size"]) \
            == ("adam", 3e-3, "cosine", 32), f"{r['name']}: {config}"
        assert r["epochs_run"] == BASE["epochs"] and config["early_stopping_patience"] is None, \
            f"{r['name']}: {r['epochs_run']} epochs, patience {config['early_stopping_patience']}"
        assert config["augment"] in (None, AUGMENT), f"{r['name']}: augment {config['augment']}"
    for name, group in groups.items():
        rate = group[0]["config"]["rate"]
        assert all(r["config"]["rate"] == rate for r in group) and (rate in RATES or rate == 0), name


def check_discussion(results):
    """The statements the page's discussion makes in words, checked on the results (the page
    and pytest both run it).

    Raises:
        AssertionError: naming the statement that no longer holds (rewrite the page).
    """
    groups = group_repeats(results)
    none = groups["none"]
    assert all(100 * r["generalization_gap"] >= LARGE_GAP_POINTS for r in none), \
        f"an unregularized run's gap is below {LARGE_GAP_POINTS:.0f} points"
    assert all(r["final_train_accuracy"] >= 0.95 for r in none), "an unregularized run fits under 95 % of its images"
    assert all(lowest_loss_epoch(r) < BASE["epochs"] - 2 for r in none), \
        "an unregularized run's validation loss was lowest in its last three epochs (it never turned up)"
    for kind in KINDS:
        gaps = [Spread(tuple(_points(groups[f"{kind}-{p}"], "generalization_gap"))).mean for p in RATES]
        assert gaps == sorted(gaps, reverse=True), f"{kind}: the gap does not narrow as the rate rises"
    reference = Spread(tuple(_points(none, "final_accuracy"))).mean
    assert all(abs(Spread(tuple(_points(groups[f"{kind}-{p}"], "final_accuracy"))).mean - reference) <= 1.5
               for kind in KINDS for p in RATES[:2]), "a rate-0.2 or 0.3 run's test accuracy is over 1.5 points off none's"
    for name in ("dropout-0.5", "augment"):
        test = compare(_points(groups[name], "final_accuracy"), _points(none, "final_accuracy"))
        assert test.different and test.difference < 0, f"{name}'s test accuracy is not called below none's"
    assert all(r["final_train_accuracy"] < 0.90 for name in STRONGEST for r in groups[name]), \
        "a strongly regularized run fits 90 % of its training images or more"
    assert all(lowest_loss_epoch(r) >= BASE["epochs"] - 3 for kind in KINDS for r in groups[f"{kind}-0.5"]), \
        "a rate-0.5 run's validation loss was lowest before the last four epochs"


def course_table(results):
    """The course's CIFAR-10 table beside this lab's runs, as Markdown: per row, the claimed train
    / validation / gap, and here the train, test and gap (mean ± std over seeds)."""
    from keraslab.train.report import markdown_table

    groups = group_repeats(results)
    rows = [{"label": label, "claim": f"{train} / {val} / {train - val}",
             **{key: spread_text(_points(groups[name], field)) for key, field in (
                 ("train", "final_train_accuracy"), ("test", "final_accuracy"), ("gap", "generalization_gap"))}}
            for label, name, train, val in COURSE_TABLE]
    return markdown_table(rows, [
        ("regularization", "label", "{}"), ("claimed train / val / gap (CIFAR-10)", "claim", "{}"),
        ("train here (%)", "train", "{}"), ("test here (%)", "test", "{}"), ("gap here (points)", "gap", "{}")])


def page_values(results):
    """Every value the book's lab 3 page glues, by glue name, as text (see `check` for the
    design facts the page states without gluing)."""
    groups = group_repeats(results)
    first = results[0]
    values = {
        "lab3_seeds": str(len(groups["none"])),
        "lab3_train_size": f"{first['data']['train_size']:,}",
        "lab3_validation_size": f"{first['data']['validation_size']:,}",
        "lab3_test_size": f"{first['data']['test_size']:,}",
        "lab3_epochs": str(first["config"]["epochs"]), "lab3_steps": f"{first['steps']:,}",
        "lab3_minutes": f"{sum(r.get('total_time') or 0 for r in results) / 60:.0f}",
        "lab3_none_gap_points": f"{_gap_points(groups):.1f}",
        "lab3_pilot_test": ", ".join(f"{v:.1f}" for v in PILOT["final_accuracy"]),
        "lab3_pilot_gap": ", ".join(f"{v:.1f}" for v in PILOT["generalization_gap"]),
        "lab3_accuracy_effect": f"{pilot_effects()['final_accuracy']:.1f}",
        "lab3_gap_effect": f"{pilot_effects()['generalization_gap']:.1f}",
        "lab3_pilot_plain": str(pilot_seeds()), "lab3_pilot_upper": str(pilot_seeds(0.8)),
    }
    for name, group in groups.items():
        key = name.replace("-", "_").replace(".", "_").replace("+", "_")
        for field, suffix in (("final_train_accuracy", "train"), ("final_accuracy", "test"),
                              ("generalization_gap", "gap")):
            values[f"lab3_{key}_{suffix}"] = spread_text(_points(group, field))
    for claim, short in zip(CLAIMS, ("overfits", "dropout", "augment", "both", "spatial", "dropblock"), strict=True):
        verdict = claim.verdict(results)
        values[f"lab3_{short}_verdict"] = verdict.status
        values[f"lab3_{short}_observed"] = verdict.observed
        values[f"lab3_{short}_detectable"] = verdict.detectable
    for name, group in groups.items():
        key = name.replace("-", "_").replace(".", "_").replace("+", "_")
        values[f"lab3_{key}_lowest"] = ", ".join(str(lowest_loss_epoch(r)) for r in group)
    return values


# The configurations the discussion calls under-fitted within the budget (fixed after the runs,
# as the page says): the strongest rate of each kind, augmentation, and both together.
STRONGEST = tuple(f"{kind}-0.5" for kind in KINDS) + ("augment", BOTH)
