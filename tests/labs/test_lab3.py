import copy
import re
from pathlib import Path

import keras
import pytest

from keraslab import labs
from keraslab.labs import lab3
from keraslab.train.config import RunConfig, resolve_config
from keraslab.train.results import load_results

PAGE = Path(__file__).resolve().parents[2] / "book" / "labs" / "lab3.md"


def _cpu_runs():
    return labs.lab_runs("lab3", scale="cpu")[2]


def test_the_grid_has_every_kind_at_the_three_rates_plus_augmentation():
    rates = {(e["regularizer"], e["rate"]) for e in lab3.GRID if "augment" not in e and e.get("rate")}
    assert rates == {(k, p) for k in ("dropout", "spatial", "dropblock") for p in (0.2, 0.3, 0.5)}
    names = [e["name"] for e in lab3.GRID]
    assert {"none", "augment", "dropout-0.5+augment"} <= set(names) and len(names) == len(set(names)) == 12


def test_training_images_and_validation_are_in_the_courses_range_and_from_training():
    for run in _cpu_runs():
        cfg = RunConfig.from_dict(run)
        held_out = round(cfg.train_size * cfg.validation_share)
        assert 1_000 <= cfg.train_size - held_out <= 5_000 and held_out == lab3.VALIDATION_IMAGES, run["name"]
        assert cfg.dataset == "fashion_mnist" and cfg.early_stopping_patience is None and cfg.test_size == 2_000


def test_no_model_normalizes_after_a_dropout_and_dropblock_sits_on_the_14x14_map():
    # The variance shift needs a normalization layer with moving statistics after a dropped unit:
    # the lab's models have none. DropBlock's 7x7 blocks sit on the first pooled map only.
    from keraslab.layers import DropBlock2D
    from keraslab.train.experiment import build_model

    for name in ("dropblock-0.5", "dropout-0.5+augment", "spatial-0.3"):
        run = next(r for r in _cpu_runs() if r["name"] == f"{name}-r0")
        model = build_model(RunConfig.from_dict(run), (28, 28, 1), 10)
        assert not [layer for layer in model.layers if "normalization" in type(layer).__name__.lower()], name
        dropped = [layer for layer in model.layers if isinstance(layer, (keras.layers.Dropout, DropBlock2D,
                                                                          keras.layers.SpatialDropout2D))]
        assert [tuple(layer.input.shape[1:3]) for layer in dropped] == [(14, 14)], name
        if name.startswith("dropblock"):
            assert dropped[0].block_size == (7, 7)


def test_augmentation_flips_left_right_only_and_shifts_less_than_the_cifar_recipe():
    from keraslab.data.pipeline import PRESETS, resolve_augment

    spec = resolve_augment(lab3.AUGMENT)
    assert spec["flip"] is True and spec["rotation"] == 15.0 and 0 < spec["color_jitter"] <= 0.1
    assert 0 < spec["crop_padding"] < PRESETS["standard"]["crop_padding"] and spec["mix"] is None
    assert not spec["cutout"]


def test_course_effects_are_the_tables_shares_of_its_gap():
    effects = lab3.course_effects()
    expected = {"dropout-0.5": (15 / 25, 8 / 25), "augment": (20 / 25, 10 / 25), "dropout-0.5+augment": (1.0, 12 / 25)}
    assert effects.keys() == expected.keys()
    for name, (removed, gained) in expected.items():
        assert effects[name] == pytest.approx((removed, gained)), name


def test_seeds_for_is_the_fewest_at_which_welch_calls_the_effect():
    from keraslab.train.stats import smallest_detectable_difference

    def samples(std, n):  # n values with sample standard deviation exactly std
        base = [(-1) ** k for k in range(n)] if n % 2 == 0 else [-1.0, 1.0] * (n // 2) + [0.0]
        mean = sum(base) / n
        scale = std / (sum((b - mean) ** 2 for b in base) / (n - 1)) ** 0.5
        return [scale * (b - mean) for b in base]

    for std, effect in ((1.0, 2.0), (1.5, 2.0), (0.8, 3.0)):
        n = lab3.seeds_for(std, effect)
        assert smallest_detectable_difference(samples(std, n), samples(std, n)) <= effect + 1e-9
        assert n == 2 or smallest_detectable_difference(samples(std, n - 1), samples(std, n - 1)) > effect
    assert lab3.seeds_for(10.0, 0.1, most=7) == 7
    with pytest.raises(ValueError, match="Received: std=0"):
        lab3.seeds_for(0, 1.0)


def test_the_grid_runs_the_seeds_the_pilot_asks_for():
    assert lab3.REPEATS["cpu"] == max(3, lab3.pilot_seeds(0.8))
    assert lab3.pilot_seeds(0.8) >= lab3.pilot_seeds()  # upper confidence limits ask for more
    assert {r["seed"] for r in _cpu_runs()}.isdisjoint(lab3.PILOT["seeds"])


# Made-up results: every configuration's seeds around a (train, test) pair, in fractions.
JITTER = (-0.006, 0.0, 0.006)


def _result(run, train, test):
    cfg = resolve_config(run)
    return {"name": run["name"], "config": cfg, "final_train_accuracy": train, "final_accuracy": test,
            "generalization_gap": train - test, "epochs_run": cfg["epochs"], "steps": 960, "total_time": 40.0,
            "data": {"source": "idx:/usr/share/datasets/fashion-mnist", "train_size": 1_000, "validation_size": 250,
                     "test_size": 2_000},
            "history": {"val_loss": [1.0 - 0.1 * e for e in range(5)] + [0.6 + 0.01 * e for e in range(17)]}}


def _results(levels, default=(0.9, 0.8), jitter=JITTER):
    out = []
    for run in _cpu_runs():
        name, k = run["name"].rsplit("-r", 1)
        train, test = levels.get(name, default)
        j = jitter[int(k) % len(jitter)]
        out.append(_result(run, train + j, test - j / 2))
    return out


def _verdict(claim_index, levels, **kwargs):
    return lab3.CLAIMS[claim_index].verdict(_results(levels, **kwargs))


def test_the_overfitting_regime_is_judged_on_a_called_gap_of_ten_points():
    assert _verdict(0, {"none": (0.99, 0.80)}).status == "reproduced"
    assert _verdict(0, {"none": (0.88, 0.80)}).status == "not reproduced"  # a called 8-point gap
    noisy = _verdict(0, {"none": (0.99, 0.80)}, jitter=(-0.2, 0.0, 0.2))
    assert noisy.status == "inconclusive" and noisy.detectable


def test_a_regularizer_is_reproduced_at_half_the_courses_share_of_the_gap():
    # none: gap 20 points. Dropout's claim: gap -12, test +6.4; reproduced from -6 and +3.2.
    base = {"none": (0.99, 0.79)}
    verdict = _verdict(1, {**base, "dropout-0.5": (0.93, 0.83)})  # gap -10, test +4
    assert verdict.status == "reproduced", verdict
    assert "gap -12.0, test +6.4" in verdict.claimed and verdict.observed.startswith("gap -")
    assert _verdict(1, {**base, "dropout-0.5": (0.90, 0.80)}).status == "not reproduced"  # test only +1
    assert _verdict(1, {**base, "dropout-0.5": (0.80, 0.79)}).status == "not reproduced"  # under-fits
    noisy = _verdict(1, {**base, "dropout-0.5": (0.93, 0.83)}, jitter=(-0.1, 0.0, 0.1))
    assert noisy.status == "inconclusive", noisy


def test_augmentation_and_both_have_their_own_shares():
    base = {"none": (0.99, 0.79), "dropout-0.5": (0.93, 0.83), "augment": (0.88, 0.85)}
    assert _verdict(2, base).status == "reproduced"  # gap -17 of claimed -16 (from -8), test +6 (from +4)
    assert _verdict(2, {**base, "augment": (0.92, 0.82)}).status == "not reproduced"  # test +3 < +4
    assert _verdict(3, {**base, "dropout-0.5+augment": (0.88, 0.87)}).status == "reproduced"
    assert _verdict(3, {**base, "dropout-0.5+augment": (0.86, 0.85)}).status == "not reproduced"  # not above augment


def test_structured_kinds_must_beat_dropout_at_every_rate():
    better = {f"spatial-{p}": (0.9, 0.83) for p in lab3.RATES}
    assert _verdict(4, better).status == "reproduced"
    assert _verdict(4, {**better, "spatial-0.2": (0.9, 0.80)}).status == "not reproduced"
    assert _verdict(5, {}, jitter=(-0.05, 0.0, 0.05)).status == "inconclusive"


def test_check_accepts_the_design_and_catches_a_broken_one():
    results = _results({"none": (0.99, 0.79)})
    lab3.check(results)
    committed = load_results(PAGE.parent / "results" / "lab3")
    lab3.check(committed)
    lab3.check_discussion(committed)  # the page's statements, on the runs it shows
    narrowing = copy.deepcopy(committed)
    for r in narrowing:
        if r["name"].startswith("spatial-0.5"):
            r["generalization_gap"] = 0.5
    with pytest.raises(AssertionError, match="spatial: the gap does not narrow"):
        lab3.check_discussion(narrowing)
    batch_norm = copy.deepcopy(results)
    batch_norm[3]["config"]["normalization"] = "batch"
    with pytest.raises(AssertionError, match="normalization"):
        lab3.check(batch_norm)
    with pytest.raises(AssertionError, match="every seed"):
        lab3.check(results[:-1])
    elsewhere = copy.deepcopy(results)
    elsewhere[5]["config"]["drop_stages"] = None
    with pytest.raises(AssertionError):
        lab3.check(elsewhere)
    with pytest.raises(AssertionError, match="gap is below 10 points"):
        lab3.check_discussion(_results({"none": (0.88, 0.79)}))
    with pytest.raises(AssertionError, match="under 95 %"):
        lab3.check_discussion(_results({"none": (0.94, 0.70)}))
    still_falling = copy.deepcopy(results)
    still_falling[0]["history"]["val_loss"] = [1.0 - 0.01 * e for e in range(lab3.BASE["epochs"])]
    with pytest.raises(AssertionError, match="never turned up"):
        lab3.check_discussion(still_falling)


def test_every_value_the_page_shows_is_one_the_lab_glues():
    used = set(re.findall(r"\{glue:text\}`(\w+)`", PAGE.read_text()))
    values = lab3.page_values(_results({"none": (0.99, 0.79)}))
    assert used and used <= set(values), sorted(used - set(values))
    assert all(isinstance(v, str) for v in values.values())


def test_lowest_loss_epoch_is_the_first_minimum_counted_from_one():
    assert lab3.lowest_loss_epoch({"history": {"val_loss": [0.9, 0.5, 0.7, 0.5]}}) == 2
    assert lab3.lowest_loss_epoch({"history": {}}) is None


def test_a_claim_needing_several_comparisons_takes_the_weakest():
    assert lab3.combined(["reproduced", "reproduced"]) == "reproduced"
    assert lab3.combined(["reproduced", "inconclusive"]) == "inconclusive"
    assert lab3.combined(["inconclusive", "not reproduced", "reproduced"]) == "not reproduced"


def test_a_difference_that_rounds_to_zero_is_not_signed_negative():
    assert lab3._judged([80.0, 80.1, 79.9], [80.03, 80.13, 79.93], 1.0)[2] == "+0.0"
