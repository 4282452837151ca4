"""Figures shared by the labs, and drawing a lab's figures from its result files.

Every lab shows its loss and accuracy curves and the final accuracy per run
(`training_figures`, with gradient flow and activation histograms when the runs recorded
them) and, when the runs measured them, accuracy under corruption and reliability diagrams
(`robustness_figures`). A lab module's `figures(results, analyses)` puts its own between
the two. Figures are drawn from the result files only, so they can be redrawn without training.
"""

from __future__ import annotations

from pathlib import Path

from keraslab.labs.spec import Figure
from keraslab.train.results import group_repeats


def first_repeats(results):
    """One result per configuration, its first repeat, named by the configuration: curves
    and histograms show one seed (a figure of every seed would be unreadable)."""
    return [{**group[0], "name": configuration} for configuration, group in group_repeats(results).items()]


def mean_over_repeats(results, field):
    """`{configuration: mean of field over its repeats}`, skipping missing values."""
    means = {}
    for configuration, group in group_repeats(results).items():
        values = [r[field] for r in group if r.get(field) is not None]
        if values:
            means[configuration] = sum(values) / len(values)
    return means


def training_figures(lab, results):
    """Loss and accuracy curves, final accuracy; gradient flow before training and after
    epoch 1, and the last activation histograms of each run, when recorded. Curves show the
    first repeat of each configuration, bars the mean over its repeats."""
    from keraslab import plots

    final = mean_over_repeats(results, "final_accuracy")
    results = first_repeats(results)
    histories = {r["name"]: r["history"] for r in results}
    figures = [
        Figure("loss.png", plots.plot_curves, (histories, "loss"),
               {"title": f"{lab}: training loss (dashed: validation)"}),
        Figure("accuracy.png", plots.plot_curves, (histories, "accuracy"),
               {"title": f"{lab}: accuracy (dashed: validation)"}),
        Figure("final_accuracy.png", plots.plot_bars, (final,),
               {"ylabel": "test accuracy", "title": f"{lab}: final test accuracy (mean over seeds)"}),
    ]
    grad_runs = {r["name"]: r["diagnostics"]["gradients"] for r in results
                 if r.get("diagnostics", {}).get("gradients")}
    if grad_runs:
        for idx, when in ((0, "init"), (1, "epoch1")):
            norms = {name: recs[min(idx, len(recs) - 1)]["norms"] for name, recs in grad_runs.items()}
            moment = "at initialization" if idx == 0 else "after epoch 1"
            figures.append(Figure(f"gradient_flow_{when}.png", plots.plot_gradient_flow, (norms,),
                                  {"title": f"{lab}: gradient norm per layer ({moment})"}))
    for r in results:
        acts = r.get("diagnostics", {}).get("activations")
        if acts:
            figures.append(Figure(f"activations_{r['name']}.png", plots.plot_activation_histograms,
                                  (acts[-1]["layers"],),
                                  {"title": f"{lab} {r['name']}: activations after epoch {acts[-1]['epoch']}"}))
    return figures


def robustness_figures(lab, results, ensemble=None):
    """Accuracy on corrupted inputs and reliability diagrams, for the runs that measured them
    (with the ensemble's average when an `ensemble` analysis is given). Bars are means over
    a configuration's repeats, reliability diagrams its first repeat."""
    from keraslab import plots

    figures = []
    shifted = mean_over_repeats(results, "corruption_mean_accuracy")
    results = first_repeats(results)
    if shifted:
        figures.append(Figure("corrupted_accuracy.png", plots.plot_bars, (shifted,),
                              {"ylabel": "accuracy on corrupted test images",
                               "title": f"{lab}: accuracy under corruption (mean of 4 kinds, severity 3)"}))
    rel = {r["name"]: r["reliability"] for r in results if r.get("reliability")}
    if ensemble and ensemble.get("reliability_average"):
        # The members here are scored on the full test set, the ensemble on its odd half.
        rel["ensemble average (odd half)"] = ensemble["reliability_average"]
    if rel:
        figures.append(Figure("reliability.png", plots.plot_reliability, (rel,), {"title": f"{lab}: reliability"}))
    return figures


def bar_figure(file, results, field, ylabel, title):
    """A bar chart of one result field per configuration (the mean over its repeats)."""
    from keraslab import plots

    return Figure(file, plots.plot_bars, (mean_over_repeats(results, field),), {"ylabel": ylabel, "title": title})


def make_figures(lab, out_dir):
    """Draws a lab's figures (its module's `figures`) from its result files into
    `out_dir/figures/`; returns the PNG paths."""
    from keraslab.labs import get_lab, load_analyses
    from keraslab.train.results import load_results

    key, spec = get_lab(lab)
    out = Path(out_dir)
    paths = []
    for figure in spec.figures(load_results(out), load_analyses(key, out)):
        path = out / "figures" / figure.file
        figure.draw(path)
        paths.append(str(path))
    return paths
