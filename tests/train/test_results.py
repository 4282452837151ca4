import json

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
