"""Lab 4's judges, design check and page values on made-up results shaped like the cpu grid's."""

import copy
import re
from pathlib import Path

import pytest

from keraslab.labs import lab4
from keraslab.labs.spec import VERDICTS
from keraslab.train.results import group_repeats

SEEDS = [1000 * k for k in range(lab4.REPEATS["cpu"])]
# Mean test accuracy (%) per strategy and size, and the steps to 80 % at 1,000 images, per seed.
ACCURACY = {"scratch": {50: 40.0, 350: 80.0, 1000: 90.0, 3500: 95.0}, "A": {50: 60.0, 350: 75.0, 1000: 80.0, 3500: 82.0},
            "B": {50: 65.0, 350: 88.0, 1000: 87.0, 3500: 94.0}}
STEPS_TO_TARGET = {"scratch": [200, 220, 240], "A": [100, 120, 140], "B": [20, 20, 40]}


def _backbone(seed):
    return {"source": "fashion_mnist", "source_data": "idx:/usr/share/datasets/fashion-mnist", "seed": seed,
            "train_size": 10_000, "epochs": 3, "source_classes": 10, "chance": 0.1, "source_test_accuracy": 0.86,
            "pretrain_seconds": 90.0}


def _result(entry, repeat, accuracy, steps_to_target):
    cfg = {**lab4.BASE, **entry, "name": f"{entry['name']}-r{repeat}", "seed": SEEDS[repeat]}
    strategy, size = entry["strategy"], entry["train_size"]
    result = {"name": cfg["name"], "config": cfg, "steps": lab4.STEPS, "epochs_run": lab4.BASE["epochs"],
              "data": {"source": "offline:mnist_5k", "train_size": size, "test_size": 1000,
                       "validation": "the test set", "validation_size": 1000},
              "final_accuracy": accuracy / 100, "target_accuracy": lab4.TARGET, "total_time": 40.0,
              "time_per_epoch": {"scratch": 10.0, "A": 3.0, "B": 5.0}[strategy],
              "trainable_params": {"scratch": 78_000, "A": 650, "B": 56_000}[strategy],
              "backbone": None if strategy == "scratch" else _backbone(SEEDS[repeat]), "diagnostics": {}}
    if size == lab4.COURSE_SIZE:
        steps = list(range(0, lab4.STEPS + 1, lab4.COUNT_EVERY))
        reached = steps_to_target if steps_to_target is not None else lab4.STEPS + 1
        result["diagnostics"]["steps"] = {"every": lab4.COUNT_EVERY, "validation_size": 1000, "step": steps,
                                          "correct": [900 if s >= reached else 500 for s in steps]}
        result["steps_to_target"] = steps_to_target
    return result


def grid(accuracy=ACCURACY, steps=STEPS_TO_TARGET, spread=0.5):
    """Results for every configuration and seed: the seeds' accuracies at mean -spread, 0, +spread."""
    offsets = [spread * (k - 1) for k in range(len(SEEDS))]
    return [_result(entry, k, accuracy[entry["strategy"]][entry["train_size"]] + offsets[k],
                    steps[entry["strategy"]][k] if entry["train_size"] == lab4.COURSE_SIZE else None)
            for entry in lab4.GRID for k in range(len(SEEDS))]


def _verdict(key, results):
    return lab4.JUDGED[key].verdict(results)


def _with(strategy_size_accuracy, spread=0.5):
    accuracy = copy.deepcopy(ACCURACY)
    for (strategy, size), value in strategy_size_accuracy.items():
        accuracy[strategy][size] = value
    return grid(accuracy, spread=spread)


def test_the_grid_is_three_strategies_at_four_sizes_with_one_step_budget():
    from keraslab import labs

    _, _, runs = labs.lab_runs("lab4", scale="cpu")
    assert {(r["strategy"], r["train_size"]) for r in runs} == {(s, n) for s in lab4.STRATEGIES for n in lab4.SIZES}
    assert max(lab4.SIZES) / min(lab4.SIZES) >= 10 and lab4.SIZES[-1] // 10 in lab4.SIZES
    assert {r["epochs"] * r["steps_per_epoch"] for r in runs} == {lab4.STEPS}
    assert {r["dataset"] for r in runs} == {"mnist"} and {r["pretrain_dataset"] for r in runs} == {"fashion_mnist"}
    assert {r["seed"] for r in runs} == set(SEEDS)
    counted = {r["name"] for r in runs if r.get("eval_every_steps")}
    assert counted == {r["name"] for r in runs if r["train_size"] == lab4.COURSE_SIZE}


def test_b_over_a_reaches_every_verdict():
    assert _verdict("b_over_a", grid()).status == "reproduced"  # +7 points, spread 0.5
    assert _verdict("b_over_a", _with({("B", 1000): 81.0})).status == "not reproduced"  # +1, could see 5
    assert _verdict("b_over_a", _with({("B", 1000): 95.0})).status == "not reproduced"  # +15: too large
    noisy = _verdict("b_over_a", _with({("B", 1000): 83.0}, spread=8.0))
    assert noisy.status == "inconclusive" and float(noisy.detectable.split()[0]) > 5
    verdict = _verdict("b_over_a", grid())
    assert verdict.claimed == "+5 to +10 points" and verdict.observed == "+7.0 points"


def test_a_over_scratch_is_judged_on_the_course_tables_difference():
    assert _verdict("a_over_scratch", _with({("A", 1000): 100.0 - 0.5})).status == "reproduced"  # +9.5
    assert _verdict("a_over_scratch", grid()).status == "not reproduced"  # -10: reversed


def test_less_data_matches_scratch_within_the_margin_or_says_why_not():
    # Scratch on 3,500: 95 %. A on 350 at 75 % is called below it.
    assert _verdict("less_data_A", grid()).status == "not reproduced"
    assert _verdict("less_data_B", _with({("B", 350): 95.5})).status == "reproduced"
    # 0.8 below on average with a spread of 0.5: the lower bound falls below the 1-point margin.
    assert _verdict("less_data_B", _with({("B", 350): 94.2})).status == "inconclusive"
    noisy = _verdict("less_data_B", _with({("B", 350): 94.5}, spread=6.0))
    assert noisy.status == "inconclusive"


def test_matches_scratch_rule_against_its_formula():
    from keraslab.train.stats import compare

    close = compare([94.8, 95.0, 95.2], [95.0, 95.1, 95.2])
    assert close.difference - close.detectable >= -lab4.MARGIN and lab4.matches_scratch(close) == "reproduced"
    below = compare([90.0, 90.1, 90.2], [95.0, 95.1, 95.2])
    assert below.different and lab4.matches_scratch(below) == "not reproduced"
    unclear = compare([85.0, 95.0, 99.0], [95.0, 95.1, 95.2])
    assert not unclear.different and lab4.matches_scratch(unclear) == "inconclusive"


def test_faster_reaches_every_verdict():
    assert _verdict("faster_B", grid()).status == "not reproduced"  # 220 / 26.7 = 8.25x, called: below 10x
    steps = {**STEPS_TO_TARGET, "B": [20, 20, 40], "scratch": [280, 300, 260]}  # 10.5x
    assert _verdict("faster_B", grid(steps=steps)).status == "reproduced"
    assert _verdict("faster_A", grid()).status == "not reproduced"  # 1.8x, called
    noisy = {**STEPS_TO_TARGET, "A": [20, 20, 40], "scratch": [40, 300, 60]}  # could not see 9x 27 steps
    assert _verdict("faster_A", grid(steps=noisy)).status == "inconclusive"
    never = {**STEPS_TO_TARGET, "A": [100, None, 140]}
    assert _verdict("faster_A", grid(steps=never)).status == "not reproduced"
    scratch_never = {**STEPS_TO_TARGET, "scratch": [None, None, None], "B": [20, 20, 20]}
    verdict = _verdict("faster_B", grid(steps=scratch_never))
    assert verdict.status == "reproduced" and verdict.observed == f"at least {lab4.STEPS / 20:.1f}x"
    slow = {**STEPS_TO_TARGET, "scratch": [None, 300, 280], "B": [lab4.STEPS // 5] * 3}  # at least 5x
    assert _verdict("faster_B", grid(steps=slow)).status == "inconclusive"


def test_every_judge_fills_claimed_observed_and_a_known_status():
    results = grid()
    for claim in lab4.CLAIMS:
        verdict = claim.verdict(results)
        assert verdict.status in VERDICTS and verdict.claimed and verdict.observed
    assert [c.verdict(results).status for c in lab4.CLAIMS[:3]] == ["not testable at this scale"] * 3


def test_check_passes_the_design_and_catches_a_broken_one():
    results = grid()
    lab4.check(results)
    broken = {
        "steps": lambda r: r.update(steps=200),
        "source": lambda r: r["data"].update(source="offline:digits"),
        "learning_rate": lambda r: r["config"].update(learning_rate=1e-3),
        "backbone": lambda r: r["backbone"] and r["backbone"].update(source_test_accuracy=0.2),
        "counted": lambda r: r["diagnostics"].update(steps={"step": [0]}),
    }
    for what, breaks in broken.items():
        changed = copy.deepcopy(results)
        target = next(r for r in changed if r["config"]["strategy"] == "B" and r["config"]["train_size"] == 50)
        breaks(target)
        with pytest.raises(AssertionError):
            lab4.check(changed)
        assert what
    with pytest.raises(AssertionError, match="every seed"):
        lab4.check(results[:-1])


def test_page_values_are_text_and_cover_every_glue_of_the_page():
    values = lab4.page_values(grid())
    assert all(isinstance(v, str) and v for v in values.values())
    assert values["lab4_seeds"] == str(lab4.REPEATS["cpu"]) and values["lab4_B_1000"] == "87.0 ± 0.5 %"
    assert values["lab4_b_over_a_verdict"] == "reproduced" and values["lab4_steps"] == f"{lab4.STEPS:,}"
    page = (Path(__file__).resolve().parents[2] / "book" / "labs" / "lab4.md").read_text()
    used = set(re.findall(r"\{glue:text\}`(\w+)`", page))
    assert used and used <= set(values), sorted(used - set(values))


def test_the_design_and_discussion_hold_on_the_committed_results():
    from keraslab.train.results import load_results

    results = load_results(Path(__file__).resolve().parents[2] / "book" / "labs" / "results" / "lab4")
    lab4.check(results)
    lab4.check_discussion(results)  # the page's statements, on the runs it shows
    narrow = copy.deepcopy(results)
    for r in narrow:
        if r["name"].startswith("B-50-"):
            r["final_accuracy"] = 0.3
    with pytest.raises(AssertionError, match="B is not called 10\\+ points above A at 50"):
        lab4.check_discussion(narrow)
    assert group_repeats(grid())  # the made-up runs group by configuration


def test_the_learning_rate_is_the_one_with_the_lowest_pilot_training_loss_for_every_strategy():
    for strategy, pilot in lab4.LEARNING_RATE_PILOT.items():
        assert min(pilot, key=lambda rate: pilot[rate][0]) == lab4.BASE["learning_rate"], strategy
