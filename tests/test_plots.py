import numpy as np

from keraslab import plots
from keraslab.diagnostics import activation_statistics, reliability_diagram

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _is_png(path):
    data = path.read_bytes()
    return data[:8] == PNG_MAGIC and len(data) > 2000


def test_curves_of_several_runs_on_one_figure(tmp_path):
    runs = {"zeros": {"loss": [2.3, 2.3], "val_loss": [2.3, 2.3]}, "he": {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}}
    fig = plots.plot_curves(runs, "loss", path=tmp_path / "c.png")
    assert len(fig.axes) == 1 and len(fig.axes[0].lines) == 4
    np.testing.assert_allclose(fig.axes[0].lines[2].get_ydata(), [1.0, 0.5])
    assert _is_png(tmp_path / "c.png")


def test_gradient_flow_bars(tmp_path):
    norms = {"dense_1": 1e-8, "dense_2": 1e-4, "output": 0.0}
    fig = plots.plot_gradient_flow(norms, path=tmp_path / "g.png")
    heights = [p.get_height() for p in fig.axes[0].patches]
    assert len(heights) == 3 and heights[0] == 1e-8 and heights[2] > 0  # zero drawn at the floor
    fig = plots.plot_gradient_flow({"a": norms, "b": norms}, path=tmp_path / "g2.png")
    assert len(fig.axes[0].patches) == 6 and _is_png(tmp_path / "g2.png")


def test_activation_histograms_one_panel_per_layer(tmp_path):
    rng = np.random.default_rng(0)
    stats = {f"dense_{i}": activation_statistics(rng.normal(size=(32, 8)) / i) for i in range(1, 8)}
    fig = plots.plot_activation_histograms(stats, path=tmp_path / "h.png")
    assert len(fig.axes) == 7 and _is_png(tmp_path / "h.png")


def test_reliability_plot(tmp_path):
    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.ones(3), 200)
    d = reliability_diagram(rng.integers(0, 3, 200), probs, num_bins=10)
    fig = plots.plot_reliability({"a": d, "b": d}, path=tmp_path / "r.png")
    assert len(fig.axes) == 2 and len(fig.axes[1].patches) == 20
    assert _is_png(tmp_path / "r.png")


def test_bars(tmp_path):
    fig = plots.plot_bars({"a": 0.5, "b": None}, path=tmp_path / "b.png")
    assert len(fig.axes[0].patches) == 2 and _is_png(tmp_path / "b.png")


def test_a_figure_is_described_by_what_it_shows_and_the_png_carries_it(tmp_path):
    from PIL import Image

    runs = {"zeros": {"loss": [2.3, 2.3], "val_loss": [2.3, 2.3]}, "he": {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}}
    fig = plots.plot_curves(runs, "loss", path=tmp_path / "c.png", title="Loss per epoch")
    ax = fig.axes[0]
    text = plots.describe(fig)
    assert text.startswith("Figure: Loss per epoch: line plot of ")
    for part in [ax.get_xlabel(), ax.get_ylabel(), *(t.get_text() for t in ax.get_legend().get_texts())]:
        assert part and part in text, part
    with Image.open(tmp_path / "c.png") as image:
        assert image.text[plots.DESCRIPTION_KEY] == text
    # several panels are numbered, each with its own title and kind
    rng = np.random.default_rng(1)
    d = reliability_diagram(rng.integers(0, 3, 50), rng.dirichlet(np.ones(3), 50), num_bins=5)
    two = plots.describe(plots.plot_reliability({"left": d, "right": d}))
    assert "2 panels: (1) " in two and "(2) " in two and "bar chart" in two
    assert two.index("left") < two.index("right")


def test_show_displays_the_described_png_once(monkeypatch):
    import io

    import matplotlib

    matplotlib.use("Agg")
    import IPython.display
    import matplotlib.pyplot as plt
    from PIL import Image

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, **kw: shown.append(obj))
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    ax.set_xlabel("epoch")
    plots.show(fig)
    assert len(shown) == 1 and fig.number not in plt.get_fignums()  # pyplot shows it no more
    with Image.open(io.BytesIO(shown[0].data)) as image:
        assert "line plot against epoch" in image.text[plots.DESCRIPTION_KEY]


def test_histograms_and_image_grids_are_described_by_kind():
    from matplotlib.figure import Figure

    rng = np.random.default_rng(0)
    stats = {f"dense_{i}": activation_statistics(rng.normal(size=(32, 8))) for i in (1, 2)}
    text = plots.describe(plots.plot_activation_histograms(stats))
    assert ": panel" not in text and text.count("histogram") + text.count("bar chart") == 2, text
    fig = Figure()
    axes = fig.subplots(2, 3)
    for row, name in zip(axes, ("original", "flipped"), strict=True):
        for ax in row:
            ax.imshow(rng.random((4, 4)))
            ax.set_ylabel(f"hidden {name}")
            ax.axis("off")
        row[0].axis("on")  # the first column shows its row's name
        row[0].set_ylabel(name)
    row[1].set_title("mirrored")
    assert plots.describe(fig) == "Figure: a grid of 6 images: original, flipped, mirrored"
