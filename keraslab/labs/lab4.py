"""Lab 4, transfer learning: a ResNet backbone pre-trained by the kit on a related source task,
frozen (A) or partly fine-tuned (B), against training from scratch, over three training-set sizes.

The design, fixed before any result was seen:

- Source task (`keraslab.models.transfer.load_source_task`): 28 classes of generated shapes whose
  outlines the target never shows (diamond, cross, ring, frame, x, half disc, ellipse; solid,
  striped or checkered), from streams of the generator independent of the target's images. The
  target (the offline flowers stand-in) has 5 classes: circles, squares and triangles, solid or
  striped. Related (same generator, the target's textures, edges and corners), distinct (not
  one shared outline).
- One backbone per seed, pre-trained once and cached: the A and B runs of a repeat share it, the
  repeats differ in it, so the spread over repeats includes the backbone's.
- Every strategy gets the same data, architecture, optimizer (Adam, 1e-3), batch size, epoch
  budget and early stopping on held-out *training* images (a fifth of them); only what is
  trained differs. Residual branches start at their random initialization, not at zero: in a
  3-block ResNet the zero-initialized branch only delays learning (its convolutions get no
  gradient until the zeroed scale has moved), which here would have stalled the source task.
- Data efficiency: a fifth, half and all of the 1,250 training images (of which a fifth is held
  out for validation), so 200, 500 and 1,000 images to train on.
"""

from __future__ import annotations

from keraslab.labs.figures import bar_figure, first_repeats, robustness_figures, training_figures
from keraslab.labs.spec import Claim, Figure, Verdict, product
from keraslab.train.report import epochs_or_never, percent
from keraslab.train.results import result_epochs_to_target
from keraslab.train.stats import spread_text, welch_text

TITLE = ("Transfer learning: a ResNet backbone pretrained by the kit, frozen (A) or partly fine-tuned (B), "
         "against training from scratch, over three training-set sizes")
ALIASES = ("transfer",)
STRATEGIES = ("scratch", "A", "B")
FRACTIONS = (0.2, 0.5, 1.0)
BASE = {
    "dataset": "tf_flowers", "model": "transfer", "image_size": 32, "optimizer": "adam",
    "learning_rate": 1e-3, "batch_size": 32, "epochs": 30, "train_size": 1250, "test_size": 1000,
    "validation_split": 0.2, "augment": "standard", "target_accuracy": 0.7, "early_stopping_patience": 8,
    "zero_init_residual": False, "pretrain_size": 20000, "pretrain_epochs": 15,
}
GRID = product(strategy=list(STRATEGIES), data_fraction=list(FRACTIONS))
SCALES = {
    "fast": {"train_size": 160, "test_size": 64, "epochs": 1, "filters": [8, 16, 32], "pretrain_size": 256,
             "pretrain_epochs": 1},
    # A backbone of 16-32-64 channels, pre-trained on 7,000 source images for 10 epochs (about
    # 100 s per seed on 2 cores); sized so that every seed's backbone learns the source task.
    "cpu": {"filters": [16, 32, 64], "pretrain_size": 7000, "pretrain_epochs": 10},
    "full": {"image_size": 64},
}
# Three seeds per configuration at cpu scale; the full scale (the notebook's) stays one seed.
REPEATS = {"cpu": 3}
FULL_RUN = "-1.0"  # the configurations on all training images


def seconds_to_target(result):
    """Training seconds until the validation accuracy first reached the target (the sum of
    the epoch times up to that epoch), or None when it never did."""
    epochs = result_epochs_to_target(result) if "history" in result else None
    if epochs is None or "history" not in result:
        return None
    return float(sum(result["history"]["epoch_time"][:epochs]))


def best_epoch(result):
    """The epoch early stopping kept (the first with the best validation accuracy); None
    without a history."""
    accuracy = result.get("history", {}).get("val_accuracy")
    return accuracy.index(max(accuracy)) + 1 if accuracy else None


def seconds_to_best(result):
    """Training seconds up to the epoch early stopping kept; None without a history."""
    epoch = best_epoch(result)
    return None if epoch is None else float(sum(result["history"]["epoch_time"][:epoch]))


TABLE = [
    ("strategy", "config.strategy", "{}"), ("training images", "data.train_size", "{}"),
    ("trainable parameters", "trainable_params", "{:,}"),
    ("test accuracy (%)", percent("final_accuracy"), "{:.1f}"),
    ("epochs to 70 %", epochs_or_never, "{}"), ("s to 70 %", seconds_to_target, "{:.0f}"),
    ("best epoch", best_epoch, "{}"), ("s to best epoch", seconds_to_best, "{:.0f}"),
    ("s / epoch", "time_per_epoch", "{:.1f}"), ("epochs run", "epochs_run", "{}"),
]

# The course's table for 1000 images: (strategy label, configuration, training time, accuracy %).
COURSE_TABLE = [("random init", "scratch-1.0", "2-3 h", (65, 70)), ("frozen", "A-1.0", "10-15 min", (78, 82)),
                ("fine-tuned", "B-1.0", "30-45 min", (85, 90))]


def _accuracies(group):
    return [100 * r["final_accuracy"] for r in group]


def _judge_course_row(configuration, low, high):
    def judge(groups):
        group = groups[configuration]
        accuracy = spread_text(_accuracies(group))
        seconds = spread_text([r["total_time"] for r in group], "{:.0f}")
        sources = {r["data"]["source"] for r in group}
        if sources != {"tfds"}:
            return Verdict("not testable at this scale",
                           f"here {accuracy} % in {seconds} s per run on {', '.join(sorted(sources))} "
                           f"({group[0]['data']['train_size']:,} training images, {len(group)} seed(s)); the claim "
                           "is for flower photos and an ImageNet backbone.")
        mean = sum(_accuracies(group)) / len(group)
        status = "reproduced" if low <= mean <= high else "not reproduced"
        return Verdict(status, f"here {accuracy} % on flower photos, {seconds} s per run ({len(group)} seeds); "
                               f"claimed {low}-{high} %.")

    return judge


def _judge_ordering(groups):
    accuracy = {s: _accuracies(groups[f"{s}{FULL_RUN}"]) for s in STRATEGIES}
    b_over_a = welch_text(accuracy["B"], accuracy["A"])
    a_over_scratch = welch_text(accuracy["A"], accuracy["scratch"])
    holds = b_over_a[0] > 0 and b_over_a[1] and a_over_scratch[0] > 0 and a_over_scratch[1]
    shown = ", ".join(f"{s} {spread_text(v)} %" for s, v in accuracy.items())
    return Verdict("reproduced" if holds else "not reproduced",
                   f"on all training images: {shown}; B - A {b_over_a[0]:+.1f} points ({b_over_a[2]}), "
                   f"A - scratch {a_over_scratch[0]:+.1f} points ({a_over_scratch[2]}).")


def _judge_faster(groups):
    """Time to reach the target accuracy on validation images, scratch over each transfer strategy."""
    seconds = {s: [seconds_to_target(r) for r in groups[f"{s}{FULL_RUN}"]] for s in STRATEGIES}
    target = groups[f"scratch{FULL_RUN}"][0]["target_accuracy"]
    transfer = {s: seconds[s] for s in ("A", "B")}
    if any(None in v for v in transfer.values()):
        return Verdict("not testable at this scale",
                       f"not every A and B run reached {target:.0%} on its validation images: seconds per seed {seconds}.")
    mean = {s: sum(v) / len(v) for s, v in transfer.items()}
    if None in seconds["scratch"]:
        # Scratch never got there in some seeds: its whole training time is a lower bound.
        budget = [r["total_time"] for r in groups[f"scratch{FULL_RUN}"]]
        bound = min(budget)
        ratios = {s: bound / m for s, m in mean.items()}
        status = "reproduced" if min(ratios.values()) >= 10 else "not testable at this scale"
        return Verdict(status, f"scratch reached {target:.0%} in {sum(v is not None for v in seconds['scratch'])} of "
                               f"{len(seconds['scratch'])} seeds; A took {spread_text(transfer['A'], '{:.0f}')} s, "
                               f"B {spread_text(transfer['B'], '{:.0f}')} s, so transfer was at least "
                               f"{ratios['A']:.0f}x (A) and {ratios['B']:.0f}x (B) faster than scratch's "
                               f"shortest run ({bound:.0f} s).")
    scratch = sum(seconds["scratch"]) / len(seconds["scratch"])
    ratios = {s: scratch / m for s, m in mean.items()}
    status = "reproduced" if all(10 <= r <= 50 for r in ratios.values()) else "not reproduced"
    return Verdict(status, f"seconds to {target:.0%} on validation images: scratch "
                           f"{spread_text(seconds['scratch'], '{:.0f}')}, A {spread_text(transfer['A'], '{:.0f}')}, "
                           f"B {spread_text(transfer['B'], '{:.0f}')}: {ratios['A']:.1f}x (A) and "
                           f"{ratios['B']:.1f}x (B) faster.")


def data_saving(groups, strategy):
    """How many times fewer images `strategy` needed to match scratch on all of them: the
    largest ratio (all images over its images) at which its mean test accuracy is at least
    scratch's mean with all images; `(ratio or None, smallest size tried, sizes by mean accuracy)`."""
    scratch = groups[f"scratch{FULL_RUN}"]
    reference = sum(_accuracies(scratch)) / len(scratch)
    full_size = scratch[0]["data"]["train_size"]
    means = {}
    for fraction in FRACTIONS:
        group = groups[f"{strategy}-{fraction}"]
        means[group[0]["data"]["train_size"]] = sum(_accuracies(group)) / len(group)
    matching = [size for size, mean in means.items() if mean >= reference]
    return (full_size / min(matching) if matching else None), min(means), means


def _judge_less_data(groups):
    scratch = groups[f"scratch{FULL_RUN}"]
    full_size = scratch[0]["data"]["train_size"]
    savings = {s: data_saving(groups, s) for s in ("A", "B")}
    smallest = min(saving[1] for saving in savings.values())
    shown = "; ".join(f"{s} on " + ", ".join(f"{n}: {m:.1f} %" for n, m in saving[2].items())
                      for s, saving in savings.items())
    evidence = (f"scratch on {full_size:,} images: {spread_text(_accuracies(scratch))} %; {shown} (means over seeds)")
    ratios = [saving[0] for saving in savings.values() if saving[0] is not None]
    best = max(ratios) if ratios else None
    if best is not None and best >= full_size / smallest:
        # The smallest size tried already matches scratch: the grid cannot tell 5x from 100x.
        return Verdict("not testable at this scale",
                       f"{evidence}: transfer matched scratch with {full_size / smallest:.0f}x fewer images, the "
                       "smallest share the grid tries, so the claim's 10-100x is beyond it.")
    if best is None:
        return Verdict("not reproduced", f"{evidence}: no transfer run matched scratch at any size tried.")
    return Verdict("not reproduced", f"{evidence}: transfer matched scratch with {best:.1f}x fewer images at most.")


def _judge_backbone(groups):
    backbones = {r["config"]["seed"]: r["backbone"] for group in groups.values() for r in group if r.get("backbone")}
    accuracy = [100 * b["source_test_accuracy"] for b in backbones.values()]
    info = next(iter(backbones.values()))
    status = "reproduced" if min(accuracy) >= 50 else "not reproduced"
    return Verdict(status, f"source test accuracy per seed's backbone: {', '.join(f'{a:.1f}' for a in accuracy)} % "
                           f"on {info['source_classes']} classes (chance {100 * info['chance']:.1f} %); the lab "
                           "asks for at least 50 %.")


CLAIMS = [
    Claim(f"{label}: {time} of training, {low}-{high} % accuracy on 1000 images",
          ("final_accuracy", "total_time", "trainable_params"), (run,),
          {"time": time, "final_accuracy": f"{low}-{high} %"}, judge=_judge_course_row(run, low, high))
    for label, run, time, (low, high) in COURSE_TABLE
] + [
    Claim("On 1000 images fine-tuning beats a frozen backbone, which beats training from scratch "
          "(the order of the course's table)", ("final_accuracy",), tuple(f"{s}{FULL_RUN}" for s in STRATEGIES),
          {"order": "scratch < A < B"}, judge=_judge_ordering),
    Claim("Transfer learning converges 10-50x faster than training from scratch",
          ("epochs_to_target", "history.epoch_time"), tuple(f"{s}{FULL_RUN}" for s in STRATEGIES),
          {"speedup": "10-50x"}, judge=_judge_faster),
    Claim("Transfer learning needs 10-100x less data",
          ("final_accuracy", "data.train_size"), tuple(r["name"] for r in GRID), {"data": "10-100x less"},
          judge=_judge_less_data),
    Claim("The backbone learned its source task (a precondition of A and B; at least 50 %)",
          ("backbone.source_test_accuracy",), tuple(r["name"] for r in GRID if r["strategy"] != "scratch"),
          judge=_judge_backbone),
]


def data_efficiency(results):
    """`{strategy: [(training images, [test accuracy % per seed]), ...]}`, by size."""
    from keraslab.train.results import group_repeats

    curve = {}
    for group in group_repeats(results).values():
        cfg = group[0]["config"]
        if "data" not in group[0] or "strategy" not in cfg:
            continue  # not a transfer run
        curve.setdefault(cfg["strategy"], []).append((group[0]["data"]["train_size"], _accuracies(group)))
    return {strategy: sorted(points) for strategy, points in curve.items()}


def plot_data_efficiency(curve, path=None, title="Test accuracy by training-set size"):
    """Mean test accuracy per strategy against training images (log scale), with bars of one
    sample standard deviation over the seeds and each seed as a dot."""
    from matplotlib.figure import Figure as MplFigure

    from keraslab.train.stats import Spread

    fig = MplFigure(figsize=(6, 4))
    ax = fig.add_subplot()
    for i, (strategy, points) in enumerate(curve.items()):
        sizes = [n for n, _ in points]
        spreads = [Spread(tuple(v)) for _, v in points]
        ax.errorbar(sizes, [s.mean for s in spreads], yerr=[s.std for s in spreads], marker="o", capsize=3,
                    label=strategy, color=f"C{i}")
        for n, values in points:
            ax.scatter([n] * len(values), values, s=8, color=f"C{i}", alpha=0.5)
    ax.set_xscale("log")
    ax.set_xticks(sorted({n for points in curve.values() for n, _ in points}))
    ax.get_xaxis().set_major_formatter("{x:.0f}")
    ax.set_xlabel("training images")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    if path is not None:
        from pathlib import Path

        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
    return fig


def figures(results, analyses):
    """The curves and final accuracies, the data-efficiency curve, trainable parameters and
    time per epoch per configuration."""
    own = [Figure("data_efficiency.png", plot_data_efficiency, (data_efficiency(results),)),
           bar_figure("trainable_params.png", results, "trainable_params", "trainable parameters",
                      "lab4: trainable parameters per strategy"),
           bar_figure("time_per_epoch.png", results, "time_per_epoch", "seconds per epoch", "lab4: time per epoch")]
    return training_figures("lab4", results) + own + robustness_figures("lab4", results)


def page_figures(results, analyses=None):
    """The figures of the book's lab page: the data-efficiency curve (every seed), and the
    curves on all training images (each configuration's first repeat)."""
    from keraslab import plots

    first = first_repeats(results)
    return {"accuracy": [
        Figure("page_data_efficiency.png", plot_data_efficiency, (data_efficiency(results),),
               {"title": "Test accuracy by training-set size (mean ± std over seeds; dots: seeds)"}),
        Figure("page_accuracy.png", plots.plot_curves,
               ({r["name"]: r["history"] for r in first if r["name"].endswith(FULL_RUN)}, "accuracy"),
               {"title": "All training images, first seed: accuracy per epoch (dashed: validation)"}),
    ]}
