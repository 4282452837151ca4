import math

import numpy as np

from keraslab.labs import lab1


def test_gradient_ratio():
    assert lab1.gradient_ratio({"a": 1.0, "b": 4.0}) == 0.25
    assert math.isnan(lab1.gradient_ratio({"a": 1.0, "b": 0.0}))


def test_gradient_columns_read_the_records_in_order():
    row = {"diagnostics": {"gradients": [{"norms": {"a": 0.5, "b": 2.0}}]}}
    assert lab1.grad_ratio_at(0)(row) == 0.25 and lab1.grad_ratio_at(1)(row) is None
    assert lab1.first_grad_at(0)(row) == 0.5 and lab1.first_grad_at(0)({}) is None


def _runs(name, steps):
    return [{"name": f"{name}-r{k}", "steps_to_target": s, "final_accuracy": 0.86} for k, s in enumerate(steps)]


def _groups(xavier, he):
    from keraslab.train.results import group_repeats

    return group_repeats(_runs("xavier-relu", xavier) + _runs("he-relu", he))


def test_he_faster_is_judged_on_steps_with_the_claimed_range():
    judge = lab1._judge_he_faster
    assert judge(_groups([1600, 1650, 1700, 1550], [800, 820, 790, 810])).status == "reproduced"  # 2x
    assert judge(_groups([1000, 1010, 990, 1005], [800, 820, 790, 810])).status == "not reproduced"  # 1.25x
    assert judge(_groups([800, 810, 795, 805], [800, 820, 790, 810])).status == "not reproduced"  # could see 2x
    noisy = judge(_groups([400, 2000, 900, 1500], [300, 1800, 700, 1400]))
    assert noisy.status == "inconclusive" and "steps" in noisy.detectable
    assert judge(_groups([800, None, 790], [800, 820, 790])).status == "not testable at this scale"


def test_repeats_for_reaches_the_power_it_promises_in_simulation():
    from scipy import stats

    rng = np.random.default_rng(0)
    xavier, he = [1200, 1500, 1350], [800, 1000, 900]  # a pilot: sample std 150 and 100
    n = lab1.repeats_for(xavier, he, speedup=1.5, spread_confidence=None)
    assert 2 <= n < 12

    def power(n, trials=4000):
        a = rng.normal(1350, 150, (trials, n))  # 1.5 times He's mean of 900
        b = rng.normal(900, 100, (trials, n))
        return np.mean(stats.ttest_ind(a, b, axis=1, equal_var=False).pvalue < 0.05)

    assert power(n) >= 0.8 - 0.03 and power(n - 1) < 0.8 + 0.03


def test_the_grid_runs_the_seeds_the_pilot_asks_for():
    assert lab1.REPEATS["cpu"] == lab1.repeats_for(*lab1.PILOT.values()) >= 3
    # Taking the spread at its upper confidence limit asks for at least as many seeds.
    assert lab1.repeats_for(*lab1.PILOT.values(), spread_confidence=None) <= lab1.REPEATS["cpu"]


def test_the_page_design_and_values_hold_on_the_committed_results():
    from pathlib import Path

    from keraslab.train.results import load_results

    results = load_results(Path(__file__).resolve().parents[2] / "book" / "labs" / "results" / "lab1")
    lab1.check(results)  # the design the page states
    lab1.check_discussion(results)  # the statements its discussion makes in words
    values = lab1.page_values(results)
    assert values["lab1_seeds"] == str(lab1.REPEATS["cpu"]) and values["lab1_train_size"] == "20,000"
    assert values["lab1_he_verdict"] in ("reproduced", "not reproduced", "inconclusive", "not testable at this scale")


def _gradient_runs(name, ratios_after_epoch1):
    return [{"name": f"{name}-r{k}", "diagnostics": {"gradients": [
        {"epoch": 0, "norms": {"dense_1": 1.0, "output": 1.0}},
        {"epoch": 1, "norms": {"dense_1": ratio, "output": 1.0 if ratio == ratio else 0.0}}]}}
        for k, ratio in enumerate(ratios_after_epoch1)]


def test_a_dead_networks_undefined_ratio_is_named_not_skipped_silently():
    from keraslab.train.results import group_repeats

    nan = float("nan")
    runs = (_gradient_runs("small_random-tanh", [1e-4, 2e-4]) + _gradient_runs("small_random-relu", [nan, 1e-6])
            + _gradient_runs("he-tanh", [1.5, 2.0]) + _gradient_runs("he-relu", [1.4, 1.9]))
    verdict = lab1._judge_vanishing(group_repeats(runs))
    assert verdict.status == "reproduced" and "small_random-relu 1 seed(s)" in verdict.evidence
    every_seed_dead = runs[:2] + _gradient_runs("small_random-relu", [nan, nan]) + runs[4:]
    assert lab1._judge_vanishing(group_repeats(every_seed_dead)).status == "not reproduced"


def test_every_value_the_page_shows_is_one_the_lab_glues():
    import re
    from pathlib import Path

    from keraslab.train.results import load_results

    root = Path(__file__).resolve().parents[2] / "book" / "labs"
    used = set(re.findall(r"\{glue:text\}`(\w+)`", (root / "lab1.md").read_text()))
    assert used and used <= set(lab1.page_values(load_results(root / "results" / "lab1")))
