import math

import pytest

from keraslab.train import report


def _row(**kw):
    base = {"name": "run", "config": {"initializer": "he", "activation": "relu", "normalization": "batch",
                                      "batch_size": 2, "strategy": "A"},
            "epochs_to_target": None, "final_accuracy": 0.5, "diagnostics": {}}
    base.update(kw)
    return base


def test_lab_tables_format_each_value_and_mark_missing_ones():
    grads = [{"epoch": 0, "norms": {"dense": 0.02, "dense_1": 0.5, "dense_2": 4.0}},
             {"epoch": 1, "norms": {"dense": 8.0, "dense_1": 1.0, "dense_2": 2.0}}]
    table = report.lab_table("lab1", [_row(epochs_to_target=7, final_accuracy=0.9734,
                                           diagnostics={"gradients": grads}), _row()])
    lines = table.splitlines()
    assert len(lines) == 4 and lines[1].count("---") == 7
    assert lines[2] == "| he | relu | 7 | 97.3 | 0.02 | 0.005 | 4 |"  # 0.02 / 4 and 8 / 2
    assert lines[3] == "| he | relu | never | 50.0 | – | – | – |"
    lab2 = report.lab_table("lab2", [_row(loss_noise=0.12345, time_per_epoch=3.21, best_val_accuracy=0.61)])
    assert lab2.splitlines()[2] == "| batch | 2 | never | 50.0 | 61.0 | 0.123 | 3.2 |"
    with pytest.raises(ValueError, match="lab='lab9'"):
        report.lab_table("lab9", [])


def test_gradient_ratio():
    assert report.gradient_ratio({"a": 1.0, "b": 4.0}) == 0.25
    assert math.isnan(report.gradient_ratio({"a": 1.0, "b": 0.0}))


def test_ensemble_table_puts_the_two_ensembles_side_by_side():
    seeds = {"members": {"s0": 0.6, "s1": 0.62}, "best_member": 0.62, "mean_member": 0.61, "average": 0.66,
             "vote": 0.64, "stacking": 0.65, "ece_members": {"s0": 0.1, "s1": 0.2}, "ece_average": 0.05,
             "evaluated_on": 500}
    archs = {**seeds, "members": {"a": 0.5, "b": 0.5, "c": 0.5}, "average": 0.7,
             "corrupted_mean": {"mean_member": 0.4, "average": 0.45, "ece_average": 0.2}}
    lines = report.ensemble_table({**seeds, "architectures": archs}).splitlines()
    assert lines[0] == "| method | seeds (2 models) | architectures (3 models) |"
    assert "| averaging (%) | 66.0 | 70.0 |" in lines
    assert "| ECE, mean member | 0.150 | 0.150 |" in lines
    assert "| corrupted: averaging (%) | – | 45.0 |" in lines
    assert lines[-1] == "Scored on 500 test images."
