import json

import numpy as np

from keraslab.train import results


def test_epochs_to_target_and_history_reader(tmp_path):
    assert results.epochs_to_target({"val_accuracy": [0.1, 0.2]}, 0.5) is None
    assert results.epochs_to_target({"val_accuracy": [0.6]}, None) is None
    (tmp_path / "h.csv").write_text("epoch,loss\n0,1.0\n1,0.8\n1,0.7\n2,0.5\n")
    assert results.read_history(tmp_path / "h.csv") == {"loss": [1.0, 0.7, 0.5]}




def _result(name, accuracy):
    return {"name": name, "final_accuracy": accuracy, "data": {"source": "offline:digits"},
            "diagnostics": {"activations": [{"epoch": e} for e in range(5)]}}


def test_summary_load_and_export_keep_the_summary_order(tmp_path):
    out = tmp_path / "runs"
    out.mkdir()
    written = [_result("b", 0.5), _result("a", 0.75)]
    for r in written:
        (out / r["name"]).mkdir()
        (out / r["name"] / "result.json").write_text(json.dumps(r))
    rows = results.summarize(written)
    assert rows[0]["name"] == "b" and rows[0]["data_source"] == "offline:digits" and list(rows[0]) == results.SUMMARY_FIELDS
    results.write_summary(out, rows, {"lab": "x", "runs": rows})
    assert [r["name"] for r in results.load_results(out)] == ["b", "a"]
    assert results.export_results(out, tmp_path / "export") == 2
    exported = results.load_results(tmp_path / "export")
    assert [r["name"] for r in exported] == ["b", "a"]
    assert [a["epoch"] for a in exported[0]["diagnostics"]["activations"]] == [0, 1, 4]
    assert (tmp_path / "export" / "summary.json").exists() and not (tmp_path / "export" / "summary.csv").exists()


def test_a_target_met_exactly_counts_as_reached():
    # Keras stores 950 correct of 1,000 as float32(0.95) = 0.949999988..., below the float 0.95.
    stored = float(np.float32(950) / np.float32(1000))
    assert stored < 0.95
    history = {"val_accuracy": [0.9, stored, 0.96]}
    assert results.epochs_to_target(history, 0.95, n=1000) == 2
    assert results.epochs_to_target(history, 0.95) == 2  # compared in float32 without a count
    # One prediction short of the target is not reached, at any size.
    short = float(np.float32(949) / np.float32(1000))
    assert results.epochs_to_target({"val_accuracy": [short]}, 0.95, n=1000) is None
    assert results.epochs_to_target({"val_accuracy": [short]}, 0.95) is None
    assert results.reaches(float(np.float32(0.7)), 0.7, 50) and not results.reaches(34 / 50, 0.7, 50)


def test_epochs_to_target_of_a_result_recounts_on_its_validation_images():
    stored = float(np.float32(950) / np.float32(1000))
    result = {"history": {"val_accuracy": [0.5, stored]}, "target_accuracy": 0.95, "epochs_to_target": None,
              "data": {"validation": "1000 held-out training images", "test_size": 400}}
    assert results.validation_size(result) == 1000
    assert results.result_epochs_to_target(result) == 2
    assert results.result_epochs_to_target(result, 0.4) == 1
    on_test = {**result, "data": {"validation": "the test set", "test_size": 400}}
    assert results.validation_size(on_test) == 400
    assert results.validation_size({**result, "data": {"validation_size": 7}}) == 7


def test_steps_or_budget_counts_a_run_that_never_reached_the_target_at_its_last_step():
    from keraslab.train.results import steps_or_budget

    assert steps_or_budget([{"steps": 600, "steps_to_target": 200}, {"steps": 600, "steps_to_target": None}]) == [200, 600]
