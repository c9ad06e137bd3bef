"""Labelling from the map: a selection labelled or skipped as one event (undoable, durable, in the
store and the loop's events as such), the rule for the texts that are not open, and the answer
the front end hears."""

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import clustered_pool
from sessions import B, batch_ids, make, seeds

from anchoral_widget.engine.loop.active import SEED_ITERATION, ActiveLoop
from anchoral_widget.errors import InputError


@pytest.fixture
def data():
    X, y, _ = clustered_pool(n=400, seed=1)
    return X, y, [f"text {i}" for i in range(len(y))]


def messages(session):
    sent = []
    session.on_map(lambda header, buffers: sent.append(header))
    return sent


def open_ids(session, y, cls, k):
    """``k`` ids of class ``cls`` that are neither labelled, skipped nor on screen."""
    busy = set(session.loop.labels) | set(batch_ids(session))
    return [int(i) for i in np.flatnonzero(y == cls) if int(i) not in busy][:k]


def test_a_selection_is_labelled_as_one_event_kept_in_the_store(data, tmp_path):
    _, y, _ = data
    session = make(data, store=tmp_path / "labels.db")
    sent = messages(session)
    rare = open_ids(session, y, "other", 12)
    before = len(session.loop.events)
    session.handle({"kind": "label_selection", "ids": rare, "label": "eye"})
    assert session.wait(30)
    loop = session.loop
    assert len(loop.events) == before + 1, "one event for the whole selection"
    event = loop.events[-1]
    assert event.source == "map" and event.kind == "label" and sorted(event.ids.tolist()) == sorted(rare)
    assert all(loop.labels[i] == "eye" for i in rare)
    assert all(loop.label_time(i)[0] == SEED_ITERATION for i in rare), "outside any batch"
    kind, payload = loop.store.log()[-1]
    assert kind == "label" and payload["source"] == "map" and sorted(payload["ids"]) == sorted(rare)
    assert sent[-1] == {
        "kind": "selection",
        "action": "label",
        "label": "eye",
        "count": 12,
        "left_out": 0,
        "text": "labelled 12 texts eye",
        "undoable": True,
    }
    assert session.snapshot()["progress"]["counts"]["eye"] == 1 + 12


def test_only_open_texts_are_stored_and_the_rest_are_counted(data):
    _, y, _ = data
    session = make(data)
    sent = messages(session)
    labelled = list(session.loop.labels)  # the seed labels
    on_screen = batch_ids(session)[:2]
    fresh = open_ids(session, y, "other", 5)
    session.handle({"kind": "skip_selection", "ids": [*labelled, *on_screen, *fresh]})
    assert session.wait(30)
    assert sorted(session.loop.skipped_ids.tolist()) == sorted(fresh)
    assert session.snapshot()["answers"] == {}, "the cards on screen keep their drafts (none)"
    answer = sent[-1]
    assert answer["action"] == "skip" and answer["count"] == 5 and answer["left_out"] == 4
    assert "2 labelled or skipped" in answer["text"] and "2 in the batch on screen" in answer["text"]
    with pytest.raises(InputError, match="none of the 4 selected texts is open"):
        session.label_selection([*labelled, *on_screen], "eye")


def test_undo_takes_the_whole_selection_back_and_only_while_it_is_the_last_thing_done(data):
    _, y, _ = data
    session = make(data)
    sent = messages(session)
    labelled_before = dict(session.loop.labels)
    rare = open_ids(session, y, "other", 8)
    session.label_selection(rare, "eye")
    assert session.wait(30)
    session.handle({"kind": "undo_selection"})
    assert session.wait(30)
    assert session.loop.labels == labelled_before
    assert sent[-1]["action"] == "undo" and sent[-1]["count"] == 8 and sent[-1]["undoable"] is False
    with pytest.raises(InputError, match="not a selection from the map"):
        session.undo_selection()

    session.skip_selection(open_ids(session, y, "other", 3))
    assert session.wait(30)
    s = session.snapshot()
    session.handle({"kind": "rest", "label": "other", "iteration": s["iteration"]})
    session.handle({"kind": "submit", "iteration": s["iteration"]})
    assert session.wait(30)
    skipped = len(session.loop.skipped_ids)
    with pytest.raises(InputError, match="not a selection from the map"):
        session.undo_selection()
    assert len(session.loop.skipped_ids) == skipped, "nothing was undone"


def test_a_selection_that_starts_the_loop_cannot_be_undone_under_its_batch(data):
    _, y, _ = data
    session = make(data, seed_labels=seeds(y, rare=0, other=1))
    assert session.snapshot()["phase"] == "cold"
    rare = open_ids(session, y, "other", 6)
    session.label_selection(rare, "eye")
    assert session.wait(30)
    s = session.snapshot()
    assert s["phase"] == "ready" and len(s["batch"]) == B, "AnchorAL goes on with the selection's labels"
    assert session.loop.pending.labelled_count == 1 + 6
    assert set(session.loop.pending.anchor_ids.tolist()) & set(rare), "its labels are anchors"
    with pytest.raises(InputError, match="proposed after the selection"):
        session.undo_selection()


def test_a_large_selection_is_stored_in_the_background(data):
    """While the loop is busy (a retrain holds it), the command returns at once; the labels
    arrive once the loop is free."""
    _, y, _ = data
    session = make(data)
    ids = open_ids(session, y, "other", 300)
    held, release = threading.Event(), threading.Event()

    def hold():
        with session._guarded.held():
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(10)
    try:
        session.label_selection(ids, "other")  # would deadlock here if it stored in the caller's thread
        assert session._guarded.facts.counts["other"] == 1, "not stored yet: the loop is busy"
    finally:
        release.set()
        holder.join()
    assert session.wait(30)
    assert session._guarded.facts.counts["other"] == 301


def test_a_selection_survives_a_fresh_process_and_undoes_there_as_one(data, tmp_path):
    X, y, _ = data
    path = tmp_path / "labels.db"
    session = make(data, store=path)
    rare = open_ids(session, y, "other", 7)
    session.label_selection(rare, "eye")
    assert session.wait(30)
    params, fingerprint = session.loop.config, session.loop.store.meta["fingerprint"]
    session.close(wait=True)
    session.loop.store.close()
    np.save(tmp_path / "X.npy", X)
    script = f"""
import json, numpy as np
from anchoral_widget.engine.loop.active import ActiveLoop
X = np.load({str(tmp_path / "X.npy")!r})
loop = ActiveLoop(X, ["other", "eye"], ["eye"], store={str(path)!r}, index="exact",
                  batch_size={params["batch_size"]}, subpool_size={params["subpool_size"]},
                  neighbours={params["neighbours"]}, seed=0, fingerprint={fingerprint!r})
last = loop.events[-1]
out = {{"source": last.source, "ids": sorted(last.ids.tolist()), "eye": sorted(i for i, c in loop.labels.items() if c == "eye")}}
loop.undo()
out["after_undo"] = sorted(i for i, c in loop.labels.items() if c == "eye")
print(json.dumps(out))
"""
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    child = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert child.returncode == 0, child.stderr
    out = json.loads(child.stdout.strip().splitlines()[-1])
    first_eye = [i for i, c in seeds(y).items() if c == "eye"]
    assert out["source"] == "map" and out["ids"] == sorted(rare)
    assert out["eye"] == sorted([*first_eye, *rare])
    assert out["after_undo"] == sorted(first_eye), "one undo takes the whole selection back"


def test_the_loop_keeps_where_a_call_came_from_and_old_rows_have_none(data, tmp_path):
    X, y, _ = data
    loop = ActiveLoop(X, ["other", "rare"], ["rare"], index="exact", subpool_size=100, store=tmp_path / "a.db")
    loop.label([0, 1], [y[0], y[1]])
    loop.skip([2, 3], source="map")
    rows = loop.store.log()
    assert "source" not in rows[0][1], "a row without a source reads as every older store's"
    assert rows[1][1]["source"] == "map"
    loop.store.close()
    again = ActiveLoop(X, ["other", "rare"], ["rare"], index="exact", subpool_size=100, store=tmp_path / "a.db")
    assert [e.source for e in again.events] == [None, "map"]


def test_bad_selections_are_refused_before_anything_changes(data):
    session = make(data)
    labels = dict(session.loop.labels)
    for msg, match in [
        ({"kind": "label_selection", "ids": [10**6], "label": "eye"}, "no text has id"),
        ({"kind": "label_selection", "ids": [5], "label": "nose"}, "unknown class"),
        ({"kind": "skip_selection", "ids": []}, "non-empty list"),
        ({"kind": "undo_selection", "ids": [1]}, "has no field"),
    ]:
        with pytest.raises(InputError, match=match):
            session.handle(msg)
    assert session.wait(30)
    assert session.loop.labels == labels
