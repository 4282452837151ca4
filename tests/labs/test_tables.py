"""Each lab's result table, from its module's TABLE."""

import pytest

from keraslab import labs


def _row(**kw):
    base = {"name": "run", "config": {"initializer": "he", "activation": "relu", "normalization": "batch",
                                      "batch_size": 2, "strategy": "A"},
            "epochs_to_target": None, "final_accuracy": 0.5, "diagnostics": {}}
    base.update(kw)
    return base


def test_lab_tables_format_each_value_and_mark_missing_ones():
    grads = [{"epoch": 0, "norms": {"dense": 0.02, "dense_1": 0.5, "dense_2": 4.0}},
             {"epoch": 1, "norms": {"dense": 8.0, "dense_1": 1.0, "dense_2": 2.0}}]
    table = labs.lab_table("lab1", [_row(name="one", steps_to_target=700, final_accuracy=0.9734,
                                           diagnostics={"gradients": grads}), _row(name="two")])
    lines = table.splitlines()
    assert len(lines) == 4 and lines[1].count("---") == 8
    assert lines[2] == "| he | relu | – | 700 | 97.3 | 0.02 | 0.005 | 4 |"  # 0.02 / 4 and 8 / 2
    assert lines[3] == "| he | relu | – | never | 50.0 | – | – | – |"
    lab2 = labs.lab_table("lab2", [_row(loss_noise=0.12345, time_per_epoch=3.21, final_train_accuracy=0.61,
                                        final_accuracy_recalibrated=0.5234,
                                        history={"accuracy": [0.4, 0.55]},
                                        config={**_row()["config"], "virtual_batch_size": 8})])
    # statistics over 8 examples; the training-mode accuracy is the last epoch's as fit logged it
    assert lab2.splitlines()[2] == "| batch | 8 | never | 50.0 | 52.3 | 55.0 | 61.0 | 0.123 | 3.2 |"
    with pytest.raises(ValueError, match="lab='lab9'"):
        labs.lab_table("lab9", [])


@pytest.mark.parametrize("lab", sorted(labs.LABS))
def test_every_lab_table_has_a_header_per_column(lab):
    lines = labs.lab_table(lab, [_row()]).splitlines()
    assert len(lines) == 3 and lines[0].count("|") == len(labs.LABS[lab].table) + 1


def test_repeats_of_a_configuration_make_one_row_of_mean_and_sample_std():
    rows = [_row(name=f"he-relu-r{k}", final_accuracy=acc, steps_to_target=steps)
            for k, (acc, steps) in enumerate([(0.90, 300), (0.92, 400), (0.94, None)])]
    rows.append(_row(name="he-tanh", final_accuracy=0.5))
    lines = labs.lab_table("lab1", rows).splitlines()
    assert len(lines) == 4
    # mean 92.0, std with ddof=1: sqrt((4 + 0 + 4) / 2) = 2.0; the steps are listed per seed
    assert lines[2] == "| he | relu | – | 300, 400, never | 92.0 ± 2.0 | – | – | – |"
    assert lines[3] == "| he | relu | – | never | 50.0 | – | – | – |"
