import math

from keraslab.labs import lab1


def test_gradient_ratio():
    assert lab1.gradient_ratio({"a": 1.0, "b": 4.0}) == 0.25
    assert math.isnan(lab1.gradient_ratio({"a": 1.0, "b": 0.0}))


def test_gradient_columns_read_the_records_in_order():
    row = {"diagnostics": {"gradients": [{"norms": {"a": 0.5, "b": 2.0}}]}}
    assert lab1.grad_ratio_at(0)(row) == 0.25 and lab1.grad_ratio_at(1)(row) is None
    assert lab1.first_grad_at(0)(row) == 0.5 and lab1.first_grad_at(0)({}) is None
