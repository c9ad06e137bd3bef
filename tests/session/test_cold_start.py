"""A session before every class has a label: the status names the classes missing, a search
finds texts to seed them, and the labels read well while there are none."""

import numpy as np
import pytest
from sessions import B, eye_pool, make, seeds

from anchoral_widget.engine.loop.active import ActiveLoop
from anchoral_widget.errors import InputError
from anchoral_widget.session.labeller import LabelSession


@pytest.fixture
def data():
    return eye_pool()


def test_cold_start_status_names_the_classes_still_missing(data):
    _X, y, _texts = data
    session = make(data, seed_labels={})
    assert "no label yet for 'other', 'eye'" in session.snapshot()["status"]
    session.handle({"kind": "seed", "ids": [int(np.flatnonzero(y == "rare")[0])], "label": "eye"})
    assert session.wait(10)
    s = session.snapshot()
    assert s["phase"] == "cold" and "no label yet for 'other'." in s["status"]
    assert s["progress"]["missing"] == ["other"]


def test_cold_start_search_then_seed_starts_the_loop(data):
    _X, y, _texts = data
    session = make(data, seed_labels=seeds(y, rare=0, other=1))
    s = session.snapshot()
    assert s["phase"] == "cold" and s["batch"] == [] and "'eye'" in s["status"]
    assert s["progress"]["missing"] == ["eye"]
    session.handle({"kind": "search", "query": "eye"})
    assert session.wait(10)
    results = session.snapshot()["search"]["results"]
    assert results and session.snapshot()["search"]["busy"] is False
    top = results[0]
    assert y[top["id"]] == "rare" and top["label"] is None
    assert [r["similarity"] for r in results] == sorted((r["similarity"] for r in results), reverse=True)
    session.handle({"kind": "seed", "ids": [top["id"]], "label": "eye"})
    assert session.wait(30)
    s = session.snapshot()
    assert s["phase"] == "ready" and len(s["batch"]) == B
    assert s["search"]["results"][0]["label"] == "eye", "the result shows its new label"
    assert session.loop.labels[top["id"]] == "eye"


def test_labels_keep_their_types_when_empty(data):
    _X, y, _texts = data
    session = make(data, seed_labels={})
    labels = session.labels
    assert len(labels) == 0 and list(labels.columns) == ["id", "text", "label", "iteration", "time"]
    assert labels.id.dtype == "int64" and labels.iteration.dtype == "int64"
    assert str(labels.time.dt.tz) == "UTC"
    assert len(np.asarray(y)[labels.id.to_numpy()]) == 0, "usable as an index"


def test_search_without_an_encoder_says_what_to_pass(data):
    X, _y, texts = data
    session = LabelSession(texts, ActiveLoop(X, ["other", "eye"], index="exact", subpool_size=100))
    with pytest.raises(InputError, match="encoder="):
        session.handle({"kind": "search", "query": "eye"})
