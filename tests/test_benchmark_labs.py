"""The labs benchmark still times the labs' own configurations (a cosine schedule included)."""

import importlib.util
from pathlib import Path

from keraslab.labs import lab_runs
from keraslab.train.config import resolve_config

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "labs.py"


def _benchmark():
    spec = importlib.util.spec_from_file_location("labs_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_step_of_a_cosine_scheduled_lab_run_is_timed():
    _, _, runs = lab_runs("lab2", scale="fast")
    cfg = resolve_config(runs[-1])  # "none": the smallest model of the grid
    assert cfg["learning_rate_schedule"] == "cosine"
    benchmark = _benchmark()
    assert benchmark.train_steps(cfg) > 0
    assert benchmark.step_seconds(cfg, 1) > 0


def test_a_transfer_run_on_grey_digits_is_timed_on_three_channels():
    _, _, runs = lab_runs("lab4", scale="fast")
    cfg = resolve_config(next(r for r in runs if r["strategy"] == "A"))
    benchmark = _benchmark()
    assert benchmark.input_shape_of(cfg)[0] == (28, 28, 3)
    assert benchmark.step_seconds(cfg, 1) > 0
