import math

from keraslab.train import report


def test_markdown_table_reads_dotted_keys_and_functions_and_marks_missing_values():
    rows = [{"name": "a", "config": {"lr": 0.1}, "acc": 0.5}, {"name": "b", "config": {}, "acc": math.nan}]
    table = report.markdown_table(rows, [("run", "name", "{}"), ("lr", "config.lr", "{:.2f}"),
                                         ("acc (%)", report.percent("acc"), "{:.0f}")])
    assert table.splitlines() == ["| run | lr | acc (%) |", "| --- | --- | --- |", "| a | 0.10 | 50 |",
                                  f"| b | {report.MISSING} | {report.MISSING} |"]


def test_epochs_or_never():
    assert report.epochs_or_never({"epochs_to_target": 3}) == 3
    assert report.epochs_or_never({"epochs_to_target": None}) == "never"


def test_steps_never_reached_read_never():
    from keraslab.train.report import per_seed, steps_or_never

    assert [steps_or_never({"steps_to_target": s}) for s in (1200, None)] == [1200, "never"]
    assert per_seed([1200, None, 80]) == "1,200, never, 80"
