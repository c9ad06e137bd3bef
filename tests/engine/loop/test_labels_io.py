import pandas as pd
import pytest

from anchoral_widget.engine.loop.active import ActiveLoop
from anchoral_widget.errors import InputError

TEXTS = [f"text number {i}" for i in range(2000)]


def make(X, **kw):
    return ActiveLoop(
        X,
        classes=["other", "rare"],
        minority=["rare"],
        batch_size=10,
        subpool_size=200,
        index="exact",
        texts=TEXTS,
        **kw,
    )


def labelled(X, y):
    loop = make(X)
    loop.label([3, 4, 5], ["other", "rare", "other"])
    p = loop.propose()
    loop.label(p.batch_ids, y[p.batch_ids])
    return loop


def test_labels_frame(pool):
    X, y, _ = pool
    loop = labelled(X, y)
    frame = loop.labels_frame()
    assert list(frame.columns) == ["id", "text", "label", "iteration", "time"]
    assert frame["id"].tolist()[:3] == [3, 4, 5] and frame["text"][1] == "text number 4"
    assert frame["iteration"].tolist() == [-1] * 3 + [0] * 10
    assert str(frame["time"].dt.tz) == "UTC"


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_export_then_import_into_a_fresh_loop(tmp_path, pool, suffix):
    X, y, _ = pool
    loop = labelled(X, y)
    path = loop.export(tmp_path / f"labels{suffix}")
    fresh = make(X)
    assert fresh.import_labels(path) == 13
    assert fresh.labels == loop.labels
    assert fresh.import_labels(path) == 0, "importing the same labels again adds nothing"


def test_import_is_validated_and_all_or_nothing(tmp_path, pool):
    X, _y, _ = pool
    loop = make(X)
    loop.label([1], ["rare"])
    cases = {
        "unknown.csv": (pd.DataFrame({"id": [2, 3], "label": ["other", "eye"]}), "'eye' is not among the classes"),
        "range.csv": (pd.DataFrame({"id": [2, 99999], "label": ["other", "other"]}), "out of range"),
        "conflict.csv": (pd.DataFrame({"id": [2, 1], "label": ["other", "other"]}), "labelled differently"),
        "dupes.csv": (pd.DataFrame({"id": [2, 2], "label": ["other", "rare"]}), "more than once"),
        "cols.csv": (pd.DataFrame({"item": [2], "label": ["other"]}), "missing column"),
        "texts.csv": (pd.DataFrame({"id": [2], "text": ["something else"], "label": ["other"]}), "do not match"),
    }
    for name, (frame, message) in cases.items():
        frame.to_csv(tmp_path / name, index=False)
        with pytest.raises(InputError, match=message):
            loop.import_labels(tmp_path / name)
        assert loop.labels == {1: "rare"}, f"{name} changed nothing"
    with pytest.raises(InputError, match="unknown format"):
        loop.export(tmp_path / "labels.xlsx")
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(InputError, match="cannot be read"):
        loop.import_labels(tmp_path / "broken.parquet")
