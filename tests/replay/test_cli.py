import json
import subprocess
import sys

import numpy as np
from conftest import clustered_pool

from anchoral_widget.replay.cli import main


def _write_pool(tmp_path, n=1500):
    X, y, _ = clustered_pool(n=n)
    np.save(tmp_path / "X.npy", X[:-300])
    np.save(tmp_path / "y.npy", y[:-300])
    np.save(tmp_path / "Xt.npy", X[-300:])
    np.save(tmp_path / "yt.npy", y[-300:])
    return y[:-300]


def test_simulate_writes_the_documented_trace(tmp_path, capsys):
    y = _write_pool(tmp_path)
    args = [
        "simulate",
        "--embeddings",
        str(tmp_path / "X.npy"),
        "--labels",
        str(tmp_path / "y.npy"),
        "--test-embeddings",
        str(tmp_path / "Xt.npy"),
        "--test-labels",
        str(tmp_path / "yt.npy"),
        "--minority",
        "rare",
        "--filter",
        "anchoral",
        "--strategy",
        "entropy",
        "--anchors-per-class",
        "5",
        "--neighbours",
        "30",
        "--subpool-size",
        "200",
        "--batch-size",
        "10",
        "--budget",
        "40",
        "--initial-size",
        "50",
        "--initial-minority-per-class",
        "3",
        "--seed",
        "0",
        "--trace",
        str(tmp_path / "trace.json"),
        "--quiet",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "minority found" in out
    t = json.loads((tmp_path / "trace.json").read_text())
    assert set(t) == {"config", "initial_ids", "iterations", "summary"}
    assert t["config"]["pool_filter"] == "anchoral" and t["config"]["subpool_size"] == 200
    assert t["config"]["outside_sample"] == 5000, "the session's subpool unless --outside-sample says otherwise"
    assert len(t["initial_ids"]) == 50 and sum(y[i] == "rare" for i in t["initial_ids"]) == 3
    assert [it["iteration"] for it in t["iterations"]] == [0, 1, 2, 3]
    it = t["iterations"][0]
    for key in (
        "labelled_count",
        "anchor_ids",
        "anchor_classes",
        "subpool_ids",
        "subpool_scores",
        "batch_ids",
        "batch_labels",
        "minority_in_labelled",
        "minority_in_subpool",
        "seconds",
        "test",
    ):
        assert key in it
    assert it["batch_labels"] == [y[i] for i in it["batch_ids"]]
    assert set(it["seconds"]) == {"train", "subpool", "strategy", "total"}
    assert {"auc_minority_f1", "minority_found", "total_selection_seconds"} <= set(t["summary"])
    # Same command, same trace (timings aside).
    main([*args[:-3], "--trace", str(tmp_path / "again.json"), "--quiet"])
    again = json.loads((tmp_path / "again.json").read_text())
    assert [i["batch_ids"] for i in again["iterations"]] == [i["batch_ids"] for i in t["iterations"]]


def test_filters_without_anchors_trace_empty_lists(tmp_path):
    _write_pool(tmp_path)
    for name in ("randsub", "none"):
        main(
            [
                "simulate",
                "--embeddings",
                str(tmp_path / "X.npy"),
                "--labels",
                str(tmp_path / "y.npy"),
                "--filter",
                name,
                "--subpool-size",
                "300",
                "--budget",
                "20",
                "--batch-size",
                "10",
                "--initial-size",
                "30",
                "--initial-minority-per-class",
                "2",
                "--trace",
                str(tmp_path / f"{name}.json"),
                "--quiet",
            ]
        )
        it = json.loads((tmp_path / f"{name}.json").read_text())["iterations"][0]
        assert it["anchor_ids"] == [] and it["subpool_scores"] == []
        assert (it["subpool_ids"] == []) == (name == "none")


def test_bad_input_is_a_clear_error_not_a_traceback(tmp_path):
    _write_pool(tmp_path)
    np.save(tmp_path / "short.npy", np.array(["a", "b"]))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "anchoral_widget",
            "simulate",
            "--embeddings",
            str(tmp_path / "X.npy"),
            "--labels",
            str(tmp_path / "short.npy"),
            "--quiet",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "embeddings but 2 labels" in result.stderr and "Traceback" not in result.stderr
    assert (
        main(
            [
                "simulate",
                "--embeddings",
                str(tmp_path / "X.npy"),
                "--labels",
                str(tmp_path / "y.npy"),
                "--learner",
                "transformer",
                "--quiet",
            ]
        )
        == 2
    )  # it reads text: vectors alone will not do


def test_simulate_from_a_csv_of_texts(tmp_path):
    """The text route: a user's CSV, encoded with the bundled model, then the loop."""
    import pandas as pd

    from anchoral_widget.data.datasets import load_dataset

    data = load_dataset("icd10-eye", seed=0, max_size=2000)
    keep = np.r_[np.flatnonzero(data.labels == "eye")[:12], np.flatnonzero(data.labels == "other")[:228]]
    pd.DataFrame({"description": [data.texts[i] for i in keep], "chapter": data.labels[keep]}).to_csv(
        tmp_path / "pool.csv", index=False
    )
    code = main(
        [
            "simulate",
            "--texts",
            str(tmp_path / "pool.csv"),
            "--text-column",
            "description",
            "--label-column",
            "chapter",
            "--minority",
            "eye",
            "--subpool-size",
            "100",
            "--neighbours",
            "20",
            "--batch-size",
            "10",
            "--budget",
            "30",
            "--initial-size",
            "40",
            "--initial-minority-per-class",
            "3",
            "--trace",
            str(tmp_path / "t.json"),
            "--quiet",
        ]
    )
    assert code == 0
    t = json.loads((tmp_path / "t.json").read_text())
    assert t["config"]["pool_size"] == 240 and t["config"]["minority"] == ["eye"]
    assert sum(len(it["batch_ids"]) for it in t["iterations"]) == 30
    assert main(["simulate", "--texts", str(tmp_path / "pool.csv"), "--text-column", "nope", "--quiet"]) == 2
