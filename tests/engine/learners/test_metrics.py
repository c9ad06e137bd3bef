import numpy as np
import pytest

from anchoral_widget.engine.learners.metrics import (
    auc,
    evaluate,
    majority_f1,
    minority_f1,
    minority_proportion,
    normalised_auc,
    per_class_f1,
)


def test_per_class_minority_and_majority_f1():
    y_true = [0, 0, 0, 1, 1, 2]
    y_pred = [0, 0, 1, 1, 0, 2]
    scores = per_class_f1(y_true, y_pred, 3)
    assert scores.tolist() == pytest.approx([2 / 3, 0.5, 1.0])
    assert minority_f1(y_true, y_pred, [1, 2], 3) == pytest.approx(0.75)
    assert majority_f1(y_true, y_pred, [1, 2], 3) == pytest.approx(2 / 3)
    # A class never true nor predicted scores 0 rather than failing.
    assert per_class_f1([0, 0], [0, 0], 2).tolist() == [1.0, 0.0]


def test_evaluate_names_classes():
    out = evaluate([0, 1, 1], [0, 1, 0], [1], ["other", "eye"])
    assert out["per_class_f1"] == pytest.approx({"other": 2 / 3, "eye": 2 / 3})
    assert out["minority_f1"] == pytest.approx(2 / 3)


def test_auc_trapezoid_and_normalised():
    assert auc([0.0, 1.0, 1.0]) == pytest.approx(1.5)
    assert normalised_auc([0.0, 1.0, 1.0]) == pytest.approx(0.75)
    assert normalised_auc([0.4]) == pytest.approx(0.4)
    assert auc([0.5]) == 0.0


def test_minority_proportion():
    assert minority_proportion([0, 1, 1, 2], {1, 2}) == pytest.approx(0.75)
    assert np.isnan(minority_proportion([], {1}))


def test_the_numpy_pin_allows_only_versions_the_code_runs_on():
    # np.trapezoid exists from numpy 2.0 on.
    import re
    from pathlib import Path

    import anchoral_widget.engine.learners.metrics as metrics

    pyproject = (Path(__file__).resolve().parents[3] / "pyproject.toml").read_text()
    (pin,) = re.findall(r'"numpy>=([0-9.]+)"', pyproject)
    assert "np.trapezoid" in Path(metrics.__file__).read_text()
    assert tuple(int(p) for p in pin.split(".")[:2]) >= (2, 0)
