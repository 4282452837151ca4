"""Figures of the labs: training curves, gradient flow, activation histograms, reliability.

Every function builds a `matplotlib.figure.Figure` directly (no pyplot state, so it works
in scripts, tests and threads), saves it as PNG when `path` is given, and returns it; a
notebook displays the returned figure. Inputs are the plain data that the runner writes
to JSON (histories, callback records, reliability dicts), so figures can be redrawn from
result files without training again.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

# The PNG text key that carries a figure's description; the book uses it as the image's alt text.
DESCRIPTION_KEY = "Description"


# What a panel's artists draw, by their Matplotlib class.
_ARTIST_KINDS = {
    "Rectangle": "bar chart", "StepPatch": "histogram", "Polygon": "shaded area",
    "Wedge": "pie chart", "PathCollection": "scatter plot", "PolyCollection": "shaded area",
    "FillBetweenPolyCollection": "shaded area", "LineCollection": "lines", "QuadMesh": "heat map",
}


def _panel_kinds(ax) -> list[str]:
    kinds = []
    if any(len(line.get_xdata()) > 1 for line in ax.get_lines()):
        kinds.append("line plot")
    for artist in [*ax.patches, *ax.collections]:
        kind = _ARTIST_KINDS.get(type(artist).__name__)
        if kind and kind not in kinds:
            kinds.append(kind)
    if ax.images:
        kinds.append("image")
    return kinds or ["panel"]


def _title(ax) -> str:
    return " ".join(ax.get_title(loc).strip() for loc in ("left", "center", "right")).strip()


def _describe_panel(ax) -> str:
    text = " and ".join(_panel_kinds(ax))
    ylabel, xlabel = ax.get_ylabel().strip(), ax.get_xlabel().strip()
    if ylabel:
        text += f" of {ylabel}"
        if ax.get_yscale() != "linear":
            text += f" ({ax.get_yscale()} scale)"
    if xlabel:
        text += f" against {xlabel}"
    title = _title(ax)
    if title:
        text = f"{title}: {text}"
    legend = ax.get_legend()
    labels = [t.get_text() for t in legend.get_texts()] if legend is not None else []
    if labels:
        text += "; " + ", ".join(labels)
    return " ".join(text.split())


def _image_grid(panels) -> str:
    names = []
    for ax in panels:
        row_name = ax.get_ylabel().strip() if ax.axison else ""  # drawn only with the axis
        for name in (row_name, _title(ax)):
            if name and name not in names:
                names.append(name)
    text = f"a grid of {len(panels)} images"
    return f"{text}: {', '.join(names)}" if names else text


def describe(fig) -> str:
    """A description of a figure from what it shows, for its alt text: the figure's title, then
    for each panel its title, kind (line plot, bar chart, ...), axes and legend entries; a grid
    of images by its row and image titles."""
    panels = [ax for ax in fig.get_axes() if ax.get_visible() and ax.get_label() != "<colorbar>"
              and (ax.axison or ax.images)]
    suptitle = fig.get_suptitle().strip() if hasattr(fig, "get_suptitle") else ""
    if len(panels) > 1 and all(ax.images for ax in panels):
        body = _image_grid(panels)
    elif len(panels) == 1:
        body = _describe_panel(panels[0])
    else:
        body = f"{len(panels)} panels: " + "; ".join(
            f"({i}) {_describe_panel(ax)}" for i, ax in enumerate(panels, start=1))
    text = f"Figure: {suptitle}. {body}" if suptitle else f"Figure: {body}"
    return " ".join(text.split())


def png_bytes(fig) -> bytes:
    """The figure as PNG, its description (:func:`describe`) stored in the file."""
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight",
                metadata={DESCRIPTION_KEY: describe(fig)})
    return buffer.getvalue()


def show(fig):
    """Displays a figure in a notebook as a PNG that carries its description (the book's alt
    text), and closes it if pyplot holds it (so it is not shown a second time)."""
    from IPython.display import Image, display

    display(Image(data=png_bytes(fig)))
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None and getattr(fig, "number", None) in pyplot.get_fignums():
        pyplot.close(fig)


def _save(fig, path):
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png_bytes(fig))
    return fig


def plot_curves(runs, metric="loss", path=None, title=None, validation=True):
    """Plots one metric of several runs on one figure, one colour per run.

    Args:
        runs: a dict `{label: history}` or a list of `(label, history)`; a history is a
            dict of per-epoch lists as in `keras.callbacks.History.history`.
        metric: the metric to plot, e.g. "loss" or "accuracy".
        path: where to save the PNG (optional).
        title: figure title (default: the metric).
        validation: also draw `val_<metric>` dashed, when present.

    Returns:
        The `matplotlib.figure.Figure`.

    Example:
    >>> fig = plot_curves({"he": {"loss": [1.0, 0.5]}, "xavier": {"loss": [1.0, 0.8]}})
    >>> len(fig.axes[0].lines)
    2
    """
    items = list(runs.items()) if isinstance(runs, dict) else list(runs)
    fig = Figure(figsize=(7, 4.2))
    ax = fig.add_subplot()
    for i, (label, history) in enumerate(items):
        colour = f"C{i % 10}"
        if metric in history:
            values = history[metric]
            ax.plot(range(1, len(values) + 1), values, color=colour, label=str(label))
        if validation and f"val_{metric}" in history:
            values = history[f"val_{metric}"]
            ax.plot(range(1, len(values) + 1), values, color=colour, linestyle="--",
                    label=f"{label} (val)" if metric not in history else None)
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.set_title(title or metric + ("  (dashed: validation)" if validation else ""))
    if ax.lines:
        ax.legend(fontsize="small", ncol=2 if len(items) > 6 else 1)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def plot_step_curves(records, target=None, path=None, title="Validation accuracy per optimizer step"):
    """Plots validation accuracy against optimizer steps, one line per run, from the records
    of `keraslab.train.callbacks.StepCounter` (counts of correct predictions).

    Args:
        records: `{label: record}`, each with `step`, `correct` and `validation_size`.
        target: draw this accuracy as a horizontal line (optional).
        path: where to save the PNG (optional).
        title: figure title.

    Returns:
        The `matplotlib.figure.Figure`.

    Example:
    >>> fig = plot_step_curves({"he": {"step": [0, 50], "correct": [10, 80], "validation_size": 100}}, 0.7)
    >>> fig.axes[0].lines[0].get_ydata().tolist()
    [0.1, 0.8]
    """
    fig = Figure(figsize=(7, 4.2))
    ax = fig.add_subplot()
    for i, (label, record) in enumerate(records.items()):
        accuracy = np.asarray(record["correct"], dtype=np.float64) / record["validation_size"]
        ax.plot(record["step"], accuracy, color=f"C{i % 10}", label=str(label))
    if target is not None:
        ax.axhline(target, color="black", linestyle=":", linewidth=1, label=f"target {target:.0%}")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("validation accuracy")
    ax.set_title(title)
    if ax.lines:
        ax.legend(fontsize="small", ncol=2 if len(records) > 6 else 1)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def plot_gradient_flow(norms, path=None, title="Gradient norm per layer", log=True):
    """Bar plot of per-layer gradient norms, input side on the left.

    Args:
        norms: `{layer_name: norm}` for one run (e.g. a `GradientNormCallback` record's
            "norms"), or `{run_label: {layer_name: norm}}` for grouped bars of several runs.
        path: where to save the PNG.
        title: figure title.
        log: logarithmic y axis (vanishing gradients span many decades); zero norms are
            drawn at the axis floor.

    Returns:
        The figure.

    Example:
    >>> fig = plot_gradient_flow({"dense_1": 1e-6, "dense_2": 1e-3})
    >>> len(fig.axes[0].patches)
    2
    """
    if norms and all(isinstance(v, dict) for v in norms.values()):
        groups = dict(norms)
    else:
        groups = {"": norms}
    layers = list(next(iter(groups.values())).keys()) if groups else []
    fig = Figure(figsize=(max(6, 0.5 * len(layers) + 2), 4))
    ax = fig.add_subplot()
    width = 0.8 / max(len(groups), 1)
    x = np.arange(len(layers))
    positive = [v for g in groups.values() for v in g.values() if v > 0]
    floor = min(positive) / 10 if positive else 1e-12
    for i, (label, g) in enumerate(groups.items()):
        values = np.array([g.get(name, 0.0) for name in layers], float)
        if log:
            values = np.maximum(values, floor)
        ax.bar(x + (i - (len(groups) - 1) / 2) * width, values, width, label=label or None, color=f"C{i % 10}")
    ax.set_xticks(x, layers, rotation=60, ha="right", fontsize="small")
    if log:
        ax.set_yscale("log")
    ax.set_ylabel("gradient L2 norm")
    ax.set_title(title)
    if len(groups) > 1:
        ax.legend(fontsize="small")
    return _save(fig, path)


def plot_activation_histograms(layer_stats, path=None, title="Activations per layer", max_cols=5):
    """One histogram per layer, from `ActivationStatsCallback` statistics.

    Args:
        layer_stats: `{layer_name: stats}` with `hist_counts`, `hist_edges` (and
            optionally `mean`, `std`, `dead_fraction`) as made by `activation_statistics`.
        path: where to save the PNG.
        title: figure title.
        max_cols: panels per row.

    Returns:
        The figure, one axes per layer.

    Example:
    >>> s = {"dense_1": {"hist_counts": [1, 2], "hist_edges": [0, 1, 2], "std": 0.5}}
    >>> len(plot_activation_histograms(s).axes)
    1
    """
    names = list(layer_stats)
    cols = max(1, min(max_cols, len(names)))
    rows = max(1, math.ceil(len(names) / cols))
    fig = Figure(figsize=(2.6 * cols, 2.2 * rows))
    for i, name in enumerate(names):
        ax = fig.add_subplot(rows, cols, i + 1)
        s = layer_stats[name]
        edges = np.asarray(s["hist_edges"], float)
        ax.stairs(np.asarray(s["hist_counts"], float), edges, fill=True, color="C0")
        note = []
        if "std" in s:
            note.append(f"std {s['std']:.2g}")
        # "Dead" means never positive on the batch: meaningful for ReLU-like (non-negative)
        # outputs only, not for tanh, whose units are negative half of the time.
        if "dead_fraction" in s and edges[0] >= 0:
            note.append(f"dead {s['dead_fraction']:.0%}")
        ax.set_title(f"{name}\n{', '.join(note)}", fontsize="small")
        ax.tick_params(labelsize="x-small")
        ax.set_yticks([])
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def plot_reliability(diagrams, path=None, title="Reliability diagram"):
    """Reliability diagram: accuracy against confidence per bin, with the diagonal.

    Args:
        diagrams: one dict from `keraslab.diagnostics.reliability_diagram`, or
            `{label: dict}` for several models on one figure (ECE in the legend).
        path: where to save the PNG.
        title: figure title.

    Returns:
        The figure (left: reliability curves; right: how many predictions fall in each bin).

    Example:
    >>> from keraslab.diagnostics import reliability_diagram
    >>> d = reliability_diagram([0, 1, 1], [[0.9, 0.1], [0.3, 0.7], [0.6, 0.4]], num_bins=5)
    >>> len(plot_reliability(d).axes)
    2
    """
    if "bin_edges" in diagrams:
        diagrams = {"model": diagrams}
    fig = Figure(figsize=(9, 4))
    ax, ax_count = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect calibration")
    for i, (label, d) in enumerate(diagrams.items()):
        edges = np.asarray(d["bin_edges"])
        centres = (edges[:-1] + edges[1:]) / 2
        conf = np.asarray(d["confidence"], float)
        acc = np.asarray(d["accuracy"], float)
        keep = ~np.isnan(acc)
        ax.plot(conf[keep], acc[keep], marker="o", color=f"C{i % 10}", label=f"{label} (ECE {d['ece']:.3f})")
        width = (edges[1] - edges[0]) / (len(diagrams) + 0.5)
        ax_count.bar(centres + (i - (len(diagrams) - 1) / 2) * width, d["count"], width, color=f"C{i % 10}", label=label)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.set_title(title)
    ax.legend(fontsize="small")
    ax_count.set_xlabel("confidence")
    ax_count.set_ylabel("predictions")
    ax_count.set_title("predictions per bin")
    fig.tight_layout()
    return _save(fig, path)


def plot_bars(values, path=None, ylabel="", title=""):
    """A simple bar chart `{label: value}` (e.g. final accuracy of each run).

    Args:
        values: `{label: number}`; None values are drawn as missing.
        path: where to save the PNG.
        ylabel: y axis label.
        title: figure title.

    Returns:
        The figure.
    """
    labels = list(values)
    fig = Figure(figsize=(max(5, 0.45 * len(labels) + 2), 4))
    ax = fig.add_subplot()
    heights = [np.nan if values[k] is None else values[k] for k in labels]
    ax.bar(range(len(labels)), heights, color="C0")
    ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize="small")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return _save(fig, path)
