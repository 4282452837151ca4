"""Each lab's figures, drawn from the committed results (a copy: figures are written beside them)."""

import shutil
from pathlib import Path

import pytest

from keraslab import labs
from keraslab.labs.figures import make_figures
from keraslab.train.results import load_results

RESULTS = Path(__file__).resolve().parents[2] / "book" / "labs" / "results"

# What each lab draws beyond every lab's curves and final accuracy.
OWN_FIGURES = {"lab1": {"gradient_flow_init.png", "gradient_flow_epoch1.png", "activations_he-relu.png"},
               "lab2": {"time_per_epoch.png", "loss_noise.png"}, "lab3": {"generalization_gap.png"},
               "lab4": {"trainable_params.png", "time_per_epoch.png"},
               "lab5": {"corrupted_accuracy.png", "reliability.png"}}


@pytest.mark.parametrize("lab", sorted(labs.LABS))
def test_make_figures_draws_each_lab_figure_from_its_results(lab, tmp_path):
    shutil.copytree(RESULTS / lab, tmp_path / lab)
    paths = make_figures(lab, tmp_path / lab)
    names = {Path(p).name for p in paths}
    assert {"loss.png", "accuracy.png", "final_accuracy.png"} | OWN_FIGURES[lab] <= names
    assert all(Path(p).stat().st_size > 2000 for p in paths)


@pytest.mark.parametrize("lab", sorted(labs.LABS))
def test_the_book_page_figures_draw(lab):
    spec = labs.LABS[lab]
    results = load_results(RESULTS / lab)
    sections = spec.module.page_figures(results, labs.load_analyses(lab, RESULTS / lab))
    figures = [f for section in sections.values() for f in section]
    assert figures
    for figure in figures:
        assert figure.draw().axes  # drawn, not saved
