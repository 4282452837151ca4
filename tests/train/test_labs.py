import pytest

from keraslab.train import labs, runner


def test_lab1_grid_is_inits_by_activations():
    key, spec, runs = labs.lab_runs("1")
    assert key == "lab1" and len(runs) == 8
    assert {(r["initializer"], r["activation"]) for r in runs} == {
        (i, a) for i in ("zeros", "small_random", "xavier", "he") for a in ("tanh", "relu")}
    assert all(r["depth"] == 10 and r["model"] == "mlp" for r in runs)


def test_lab2_grid_is_norms_by_batch_sizes():
    _, _, runs = labs.lab_runs("normalization")
    assert {(r["normalization"], r["batch_size"]) for r in runs} == {
        (n, b) for n in ("none", "batch", "layer", "group") for b in (2, 8, 32, 128)}


def test_lab3_and_lab4_and_lab5_grids():
    _, _, runs3 = labs.lab_runs("lab3")
    assert {r["name"] for r in runs3} >= {"none", "dropout-0.5", "spatial-0.2", "dropblock-0.3", "augment"}
    assert all(r["block_size"] == 7 for r in runs3)
    _, _, runs4 = labs.lab_runs("lab4")
    assert {(r["strategy"], r["data_fraction"]) for r in runs4} == {
        (s, f) for s in ("scratch", "A", "B") for f in (0.25, 1.0)}
    _, _, runs5 = labs.lab_runs("lab5")
    assert sum(r.get("ensemble") == "plain" for r in runs5) == 5
    assert {r["model"] for r in runs5 if r.get("ensemble") == "architectures"} == {"convnet", "resnet"}
    assert all("corruptions" in r["diagnostics"] and r["save_predictions"] for r in runs5)
    assert {r["augment"]["mix"] for r in runs5 if isinstance(r.get("augment"), dict)} == {"mixup", "cutmix"}


@pytest.mark.parametrize("lab", sorted(labs.LABS))
@pytest.mark.parametrize("scale", labs.SCALES)
def test_every_run_config_is_valid(lab, scale):
    _, _, runs = labs.lab_runs(lab, scale=scale)
    for run in runs:
        runner.resolve_config(run)  # unknown keys or bad values raise
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
    with pytest.raises(ValueError, match="lab"):
        labs.get_lab("lab9")


def test_package_exports_the_runner_lazily():
    import keraslab.train as train

    assert train.run_lab is runner.run_lab and train.lab_runs is labs.lab_runs
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        train.nothing  # noqa: B018
