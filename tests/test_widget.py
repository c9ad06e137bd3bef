"""The Labeller widget: traits, messages from the front end, errors shown under the widget."""

import re
from pathlib import Path

import numpy as np
import pytest
import traitlets as t
from conftest import clustered_pool, fit_child

import anchoral_widget as aw
from anchoral_widget import widget as widget_module
from anchoral_widget.protocol import COMMANDS, TRAITS

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def pool():
    X, y, _ = clustered_pool(n=300, seed=2)
    texts = [f"{'eye' if c == 'rare' else 'other'} text {i}" for i, c in enumerate(y)]
    seeds = {int(np.flatnonzero(y == "rare")[0]): "eye", int(np.flatnonzero(y == "other")[0]): "other"}
    return X, y, texts, seeds


@pytest.fixture
def w(pool):
    X, _y, texts, seeds = pool
    widget = aw.Labeller(
        texts,
        classes=["other", "eye"],
        minority=["eye"],
        embeddings=X,
        seed_labels=seeds,
        map=False,
        batch_size=4,
        subpool_size=100,
        neighbours=20,
        index="exact",
        budget=50,
    )
    assert widget.wait(30)
    yield widget
    widget.close()


def send(widget, content):
    """Deliver a custom message the way ipywidgets does when the front end calls model.send."""
    widget._handle_msg({"content": {"data": {"method": "custom", "content": content}}, "buffers": []})


def synced(widget):
    return {name for name in widget.keys if not name.startswith("_") and name not in ("layout", "tabbable", "tooltip")}


def test_traits_match_the_session_and_the_front_end_model(w):
    assert synced(w) == set(w._session.snapshot())
    source = (ROOT / "js" / "src" / "model.js").read_text()
    model_type = re.search(r"classes: string\[\].*?\}\} Model", source, re.S).group(0)
    js_names = set(re.findall(r"(\w+):", model_type))
    assert js_names == synced(w)
    assert synced(w) == set(TRAITS), "the protocol declares the synced traits"


def test_traits_have_the_protocols_types_and_help(w):
    kinds = {t.List: "list", t.Dict: "object", t.Unicode: "str", t.Int: "int"}
    for name, spec in TRAITS.items():
        trait = w.traits()[name]
        assert kinds[type(trait)] == spec["type"], name
        assert w.trait_metadata(name, "help") == spec["help"], name


def test_every_trait_is_documented(w):
    for name in synced(w):
        assert w.trait_metadata(name, "help"), f"trait {name} has no help"


def test_the_first_batch_arrives_in_the_traits(w):
    assert w.phase == "ready" and len(w.batch) == 4 and w.iteration == 0
    assert w.classes == ["other", "eye"] and w.minority == ["eye"]
    assert w.progress["labelled"] == 2 and w.progress["budget"] == 50
    assert w.status.startswith("ready: 4 texts in")
    assert w.error == ""


def test_messages_label_undo_and_submit(w):
    ids = [c["id"] for c in w.batch]
    send(w, {"kind": "label", "ids": [ids[0]], "label": "eye", "iteration": 0})
    assert w.answers == {str(ids[0]): "eye"}
    send(w, {"kind": "rest", "label": "other", "iteration": 0})
    assert w.answers == {str(ids[0]): "eye", **{str(i): "other" for i in ids[1:]}}
    send(w, {"kind": "undo", "iteration": 0})
    send(w, {"kind": "skip", "ids": ids[1:], "iteration": 0})
    send(w, {"kind": "submit", "iteration": 0})
    assert len(w.labels) == 3, "the submitted label is in w.labels at once"
    assert w.wait(30)
    assert w.iteration == 1 and w.phase == "ready" and w.error == ""
    assert w.progress["skipped"] == 3
    assert set(w.labels.columns) == {"id", "text", "label", "iteration", "time"}
    assert w.loop.labels[ids[0]] == "eye"
    check = w.review.label_check()
    assert sorted(check["id"]) == sorted(w.loop.labels) and "flagged" in check and "suggested" in check


@pytest.mark.parametrize(
    "content",
    [
        {"kind": "label", "ids": [123456], "label": "eye", "iteration": 0},
        {"kind": "label", "ids": [0], "label": "nose", "iteration": 0},
        {"kind": "frobnicate"},
        {"no": "kind"},
    ],
)
def test_a_bad_message_shows_an_error_and_changes_nothing(w, content):
    if content.get("ids") == [0]:
        content = {**content, "ids": [w.batch[0]["id"]]}
    before = {name: getattr(w, name) for name in synced(w) if name != "error"}
    send(w, content)
    assert w.error and "Traceback" not in w.error
    assert {name: getattr(w, name) for name in synced(w) if name != "error"} == before
    # the next good command clears it
    send(w, {"kind": "label", "ids": [w.batch[0]["id"]], "label": "eye", "iteration": 0})
    assert w.error == ""


def test_errors_name_the_problem_in_plain_words(w):
    send(w, {"kind": "submit", "iteration": 0})
    assert w.error == "4 card(s) have no answer yet: label or skip them, or give the rest one class, then submit"
    send(w, {"kind": "label", "ids": [w.batch[0]["id"]], "label": "nose", "iteration": 0})
    assert w.error == "unknown class 'nose'; the classes are other, eye"


def test_commands_sent_are_exactly_those_the_kernel_knows():
    source = "\n".join(p.read_text() for p in (ROOT / "js" / "src").rglob("*.js"))
    kinds = set(re.findall(r'command\("(\w+)"', source))
    assert kinds == set(COMMANDS)


def test_the_widget_module_is_a_thin_shell():
    lines = (ROOT / "anchoral_widget" / "widget.py").read_text().count("\n")
    assert lines < 100, f"widget.py has {lines} lines: traits and messages only (STYLE.md)"


def test_budget_can_be_raised_from_python(w):
    w.budget = 60
    assert w.progress["budget"] == 60 and w.budget == 60


def test_unknown_keyword_arguments_raise_type_error(pool):
    X, _y, texts, _seeds = pool
    with pytest.raises(TypeError):
        aw.Labeller(texts, classes=["other", "eye"], embeddings=X, batchsize=4)


def test_a_missing_front_end_build_says_how_to_build_it(pool, monkeypatch, tmp_path):
    X, _y, texts, _seeds = pool
    monkeypatch.setattr(widget_module, "STATIC", tmp_path)
    with pytest.raises(FileNotFoundError, match="npm --prefix js ci"):
        aw.Labeller(texts, classes=["other", "eye"], embeddings=X, subpool_size=100)


def test_labels_survive_a_new_widget_on_the_same_pool(pool, tmp_path):
    X, _y, texts, seeds = pool
    params = dict(
        classes=["other", "eye"],
        minority=["eye"],
        embeddings=X,
        map=False,
        batch_size=4,
        subpool_size=100,
        neighbours=20,
        index="exact",
    )
    first = aw.Labeller(texts, seed_labels=seeds, **params)
    assert first.wait(30) and first.store.parent == tmp_path / "anchoral-labels"
    stored = first.labels[["id", "label"]].values.tolist()
    first.close()
    second = aw.Labeller(texts, **params)  # a restarted kernel: no seed labels given this time
    assert second.wait(30)
    assert second.labels[["id", "label"]].values.tolist() == stored and second.store == first.store
    second.close()


def test_closing_a_widget_stops_its_map_fit(pool, tmp_path, monkeypatch):
    monkeypatch.setenv("ANCHORAL_CACHE", str(tmp_path / "cache"))
    X, _y, texts, seeds = pool
    widget = aw.Labeller(
        texts,
        classes=["other", "eye"],
        minority=["eye"],
        embeddings=X,
        seed_labels=seeds,
        batch_size=4,
        subpool_size=100,
        neighbours=20,
        index="exact",
        store=None,
    )
    assert widget._session.loop is not None  # the pool is prepared in the background, then the map starts
    projection = widget._session._map.projection
    child = fit_child(projection)
    assert child is not None, "the map is fitted in a child process"
    widget.close()
    assert child.wait(10) is not None and projection.wait(10) == "idle"


def test_past_labels_are_corrected_and_agreement_read_from_the_widget(w):
    assert w.wait(30)
    eye = next(i for i, c in w.loop.labels.items() if c == "eye")
    assert w.correct([eye], "other") == 1 and w.labels.set_index("id").label[eye] == "other"
    assert w.agreement().items == 0 and "overlap=0.1" in str(w.agreement())
