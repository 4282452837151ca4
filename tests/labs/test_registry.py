import sys

import pytest

from keraslab import labs
from keraslab.train.config import RunConfig


def test_lab1_grid_is_inits_by_activations_and_two_deeper_relu_nets():
    key, spec, runs = labs.lab_runs("1")
    assert key == "lab1" and len(runs) == 10
    assert {(r["initializer"], r["activation"], r["depth"]) for r in runs} == {
        (i, a, 10) for i in ("zeros", "small_random", "xavier", "he") for a in ("tanh", "relu")} | {
        ("xavier", "relu", 20), ("he", "relu", 20)}
    assert all(r["model"] == "mlp" and r["dataset"] == "fashion_mnist" for r in runs)


def test_lab2_grid_varies_the_examples_per_statistic_at_one_batch_and_rate():
    for scale in labs.SCALES:
        _, _, runs = labs.lab_runs("normalization", scale=scale)
        assert {(r["normalization"], r.get("virtual_batch_size")) for r in runs} == {
            ("batch", 2), ("batch", 8), ("batch", 32), ("batch", 128), ("layer", None), ("group", None),
            ("none", None)}
        # Only the normalization differs: one optimizer batch, rate and number of epochs.
        assert {(r["batch_size"], r["learning_rate"], r["epochs"]) for r in runs} == {
            (runs[0]["batch_size"], runs[0]["learning_rate"], runs[0]["epochs"])}
        assert runs[0]["batch_size"] == 128


def test_lab3_and_lab4_and_lab5_grids():
    _, _, runs3 = labs.lab_runs("lab3")
    assert {r["name"] for r in runs3} >= {"none", "dropout-0.5", "spatial-0.2", "dropblock-0.2", "augment"}
    assert all(r["block_size"] == 7 for r in runs3)
    _, _, runs4 = labs.lab_runs("lab4")
    assert {(r["strategy"], r["train_size"]) for r in runs4} == {
        (s, n) for s in ("scratch", "A", "B") for n in (50, 350, 1000, 3500)}
    _, _, runs5 = labs.lab_runs("lab5")
    assert sum(r.get("ensemble") == "plain" for r in runs5) == 5  # the course's ensemble of five
    assert all("corruptions" in r["diagnostics"] and r["save_predictions"] for r in runs5)
    assert {r["augment"]["mix"] for r in runs5 if isinstance(r.get("augment"), dict)} == {"mixup", "cutmix"}


@pytest.mark.parametrize("lab", sorted(labs.LABS))
@pytest.mark.parametrize("scale", labs.SCALES)
def test_every_run_config_is_valid(lab, scale):
    _, _, runs = labs.lab_runs(lab, scale=scale)
    for run in runs:
        RunConfig.from_dict(run)  # unknown keys or bad values raise
        assert run.get("offline") is (True if scale == "fast" else None)


def test_scales_grow_from_fast_to_full():
    for lab in labs.LABS:
        sizes = [labs.lab_runs(lab, scale=s)[2][0] for s in labs.SCALES]
        epochs = [run["epochs"] for run in sizes]
        assert epochs[0] < epochs[1] <= epochs[2], (lab, epochs)
    assert labs.lab_runs("lab3", fast=True) == labs.lab_runs("lab3", scale="fast")
    with pytest.raises(ValueError, match="scale='gpu'"):
        labs.lab_runs("lab3", scale="gpu")
    with pytest.raises(ValueError, match="contradicts"):
        labs.lab_runs("lab3", fast=True, scale="cpu")


def test_overrides_win_and_unknown_lab():
    _, _, runs = labs.lab_runs("lab1", fast=True, overrides={"epochs": 7, "offline": False})
    assert all(r["epochs"] == 7 and r["offline"] is False for r in runs)
    with pytest.raises(ValueError, match="Received: lab='lab9'"):
        labs.get_lab("lab9")


def test_package_exports_run_lab_lazily():
    from keraslab.labs import run

    assert labs.run_lab is run.run_lab
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        labs.nothing  # noqa: B018


@pytest.mark.parametrize("key", sorted(labs.LABS))
def test_every_lab_module_declares_grid_per_scale_table_figures_and_claims(key):
    lab = labs.LABS[key]
    assert lab.key == key and lab.title and lab.grid and set(lab.scales) == set(labs.SCALES)
    assert all(len(column) == 3 for column in lab.table)
    assert lab.claims and all(isinstance(c, labs.spec.Claim) and c.text and c.fields for c in lab.claims)
    names = {r["name"] for r in lab.grid}
    for claim in lab.claims:
        assert set(claim.runs) <= names, (key, claim.text, set(claim.runs) - names)
    results = [_fake_result(run) for run in labs.lab_runs(key, fast=True)[2]]
    figures = lab.figures(results, {})
    files = [f.file for f in figures]
    assert {"loss.png", "accuracy.png", "final_accuracy.png"} <= set(files) and len(set(files)) == len(files)
    assert all(isinstance(f, labs.spec.Figure) and callable(f.plot) for f in figures)


def _fake_result(run):
    return {"name": run["name"], "config": RunConfig.from_dict(run).to_dict(), "final_accuracy": 0.5,
            "history": {"loss": [1.0], "accuracy": [0.5]}, "time_per_epoch": 1.0, "trainable_params": 10,
            "generalization_gap": 0.1, "loss_noise": 0.2, "diagnostics": {}}


FAKE_LAB = """
from keraslab.labs.figures import training_figures
from keraslab.labs.spec import Claim

TITLE = "A lab added as one file"
ALIASES = ("fake",)
BASE = {"dataset": "digits", "model": "mlp", "depth": 2, "width": 8}
GRID = [{"name": "one"}, {"name": "two", "width": 16}]
SCALES = {"fast": {"epochs": 1}, "cpu": {"epochs": 2}, "full": {"epochs": 3}}
TABLE = [("run", "name", "{}")]
CLAIMS = [Claim("Wider is better", ("final_accuracy",), ("one", "two"))]


def figures(results, analyses):
    return training_figures("lab97", results)
"""


def _register(tmp_path, monkeypatch, key, text):
    (tmp_path / f"{key}.py").write_text(text)
    monkeypatch.setattr(labs, "__path__", [*labs.__path__, str(tmp_path)])
    monkeypatch.delitem(sys.modules, f"keraslab.labs.{key}", raising=False)


def test_a_new_lab_module_registers_by_itself(tmp_path, monkeypatch):
    (tmp_path / "notalab.py").write_text("raise RuntimeError('not a lab: never imported')")
    _register(tmp_path, monkeypatch, "lab97", FAKE_LAB)
    try:
        found = labs.discover()
        assert list(found) == [*labs.LABS, "lab97"]
        key, lab, runs = labs.lab_runs("fake", scale="cpu", registry=found)
        assert key == "lab97" and labs.get_lab("97", found)[0] == "lab97"
        assert [(r["name"], r["width"], r["epochs"], r["lab"]) for r in runs] == [
            ("one", 8, 2, "lab97"), ("two", 16, 2, "lab97")]
    finally:
        sys.modules.pop("keraslab.labs.lab97", None)


def test_a_lab_module_missing_a_part_is_refused(tmp_path, monkeypatch):
    _register(tmp_path, monkeypatch, "lab98", FAKE_LAB.replace("CLAIMS = [", "_CLAIMS = ["))
    try:
        with pytest.raises(ValueError, match=r"lab98 must define \['CLAIMS'\]"):
            labs.discover()
    finally:
        sys.modules.pop("keraslab.labs.lab98", None)


def test_a_lab_module_with_a_scale_missing_is_refused(tmp_path, monkeypatch):
    _register(tmp_path, monkeypatch, "lab99", FAKE_LAB.replace(', "full": {"epochs": 3}', ""))
    try:
        with pytest.raises(ValueError, match=r"Received: SCALES keys \['cpu', 'fast'\]"):
            labs.discover()
    finally:
        sys.modules.pop("keraslab.labs.lab99", None)


REPEATED_LAB = FAKE_LAB.replace(
    'CLAIMS = [Claim("Wider is better", ("final_accuracy",), ("one", "two"))]',
    '''REPEATS = {"cpu": 3}
from keraslab.labs.spec import Verdict
from keraslab.train.stats import Spread


def _wider(groups):
    one, two = (Spread(tuple(r["final_accuracy"] for r in groups[k])) for k in ("one", "two"))
    status = "reproduced" if two.mean > one.mean else "not reproduced"
    return Verdict(status, f"{two.mean:.2f} against {one.mean:.2f}")


CLAIMS = [Claim("Wider is better", ("final_accuracy",), ("one", "two"), judge=_wider)]''')


def test_repeats_run_each_configuration_with_seeds_a_stride_apart(tmp_path, monkeypatch):
    _register(tmp_path, monkeypatch, "lab96", REPEATED_LAB)
    try:
        found = labs.discover()
        _, lab, runs = labs.lab_runs("lab96", scale="cpu", registry=found)
        assert lab.repeats == {"fast": 1, "cpu": 3, "full": 1}
        assert [(r["name"], r["seed"]) for r in runs] == [
            (f"{name}-r{k}", 1000 * k) for name in ("one", "two") for k in range(3)]
        assert [r["name"] for r in labs.lab_runs("lab96", scale="fast", registry=found)[2]] == ["one", "two"]
        seeded = labs.lab_runs("lab96", scale="cpu", registry=found, overrides={"seed": 5})[2]
        assert [r["seed"] for r in seeded[:3]] == [5, 1005, 2005]
    finally:
        sys.modules.pop("keraslab.labs.lab96", None)


def test_bad_repeats_are_refused(tmp_path, monkeypatch):
    _register(tmp_path, monkeypatch, "lab95", REPEATED_LAB.replace('{"cpu": 3}', '{"cpu": 0}'))
    try:
        with pytest.raises(ValueError, match=r"lab95 must give a positive integer.*Received: REPEATS=\{'cpu': 0\}"):
            labs.discover()
    finally:
        sys.modules.pop("keraslab.labs.lab95", None)


def test_claims_table_gives_each_claims_verdict_on_the_repeats(tmp_path, monkeypatch):
    _register(tmp_path, monkeypatch, "lab94", REPEATED_LAB)
    try:
        found = labs.discover()
        monkeypatch.setattr(labs, "LABS", found)
        results = [{"name": f"{name}-r{k}", "final_accuracy": acc + k / 100}
                   for name, acc in (("one", 0.5), ("two", 0.7)) for k in range(3)]
        lines = labs.claims_table("lab94", results).splitlines()
        assert lines[2] == "| Wider is better | – | – | – | **reproduced** | 0.71 against 0.51 |"
        swapped = [{**r, "name": r["name"].replace("one", "x").replace("two", "one").replace("x", "two")}
                   for r in results]
        assert "**not reproduced**" in labs.claims_table("lab94", swapped)
    finally:
        sys.modules.pop("keraslab.labs.lab94", None)


def test_a_claim_without_a_judge_or_with_a_bad_verdict_is_refused():
    claim = labs.spec.Claim("Something", ("final_accuracy",))
    with pytest.raises(ValueError, match="has no `judge`"):
        claim.verdict([])
    with pytest.raises(ValueError, match="Received: status='maybe'"):
        labs.spec.Verdict("maybe", "because")
