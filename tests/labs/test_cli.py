import csv
import json

import pytest

from keraslab import cli
from keraslab.labs.cli import parse_overrides, parse_value


def test_parse_values():
    assert parse_value("[8, 16]") == [8, 16]
    assert parse_value("0.5") == 0.5 and parse_value("None") is None and parse_value("relu") == "relu"
    assert parse_overrides(["epochs=2", "augment=lab3"]) == {"epochs": 2, "augment": "lab3"}
    with pytest.raises(ValueError, match="key=value"):
        parse_overrides(["epochs"])


def test_keraslab_run_fast_end_to_end(tmp_path, capsys):
    out = tmp_path / "lab1"
    code = cli.main(["run", "lab1", "--fast", "--quiet", "--out", str(out), "--only", "zeros-relu",
                     "--only", "he-tanh", "--set", "epochs=3", "--set", "train_size=128", "--set", "width=16",
                     "--export", str(tmp_path / "exported")])
    assert code == 0
    with open(out / "summary.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["name"] for r in rows] == ["zeros-relu", "he-tanh"]
    zeros = json.loads((out / "zeros-relu" / "result.json").read_text())
    assert zeros["config"]["width"] == 16 and zeros["command"].startswith("keraslab run")
    # Zero initialization: symmetric units, no gradient to hidden kernels, chance-level accuracy.
    assert zeros["diagnostics"]["gradients"][0]["norms"]["dense_1"] == 0.0
    assert zeros["final_accuracy"] < 0.2
    for name in ("loss.png", "accuracy.png", "final_accuracy.png", "gradient_flow_init.png",
                 "activations_he-tanh.png"):
        assert (out / "figures" / name).stat().st_size > 2000
    assert "summary.csv" in capsys.readouterr().out
    # The export keeps every number but thins activation histograms to init, epoch 1 and the end.
    he = json.loads((out / "he-tanh" / "result.json").read_text())
    kept = json.loads((tmp_path / "exported" / "he-tanh" / "result.json").read_text())
    assert [r["epoch"] for r in kept["diagnostics"]["activations"]] == [0, 1, 3]
    assert kept["history"] == he["history"] and kept["diagnostics"]["gradients"] == he["diagnostics"]["gradients"]
    assert json.loads((tmp_path / "exported" / "summary.json").read_text())["scale"] == "fast"
    assert not list((tmp_path / "exported").rglob("*.png"))


def test_cli_errors(tmp_path, capsys):
    assert cli.main(["run", "lab9", "--out", str(tmp_path)]) == 2
    assert cli.main(["run", "lab1", "--fast", "--out", str(tmp_path), "--set", "widht=3"]) == 2
    assert "widht" in capsys.readouterr().err
    # A bad value fails before any folder is made or model trained, naming the key and the value.
    assert cli.main(["run", "lab1", "--fast", "--out", str(tmp_path / "bad"), "--set", "batch_size=0"]) == 2
    assert "Received: batch_size=0" in capsys.readouterr().err and not (tmp_path / "bad").exists()
    assert cli.main(["run", "list"]) == 0
