"""The protocol: every message declared once, checked on arrival, the same for the front end."""

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from anchoral_widget import protocol
from anchoral_widget.data.toy import load_toy
from anchoral_widget.errors import InputError
from anchoral_widget.protocol import (
    COMMANDS,
    HELLO_BYTES,
    MESSAGES,
    TRAITS,
    TYPES,
    check_message,
    check_value,
    read_command,
)
from anchoral_widget.session.commands import ACTIONS
from anchoral_widget.session.startup import build_session

ROOT = Path(__file__).resolve().parents[1]
CLASSES = ["other", "eye"]


def test_the_front_ends_copy_is_the_declaration(tmp_path, capsys):
    committed = (ROOT / "js" / "src" / "protocol.json").read_text(encoding="utf-8")
    assert committed == protocol.to_json(), "run `python -m anchoral_widget.protocol` and commit js/src/protocol.json"
    assert protocol.main(["--check"]) == 0
    stale = tmp_path / "protocol.json"
    stale.write_text(committed.replace('"label"', '"labels"'), encoding="utf-8")
    assert protocol.main(["--check", str(stale)]) == 1
    assert protocol.main([str(stale)]) == 0 and stale.read_text(encoding="utf-8") == committed
    assert "differs" in capsys.readouterr().out


def test_every_field_has_a_known_type_and_words_for_it():
    for declared in (COMMANDS, MESSAGES):
        for kind, spec in declared.items():
            assert spec["help"], kind
            for name, field in spec["fields"].items():
                assert field["type"] in TYPES and field["help"], (kind, name)
    for name, spec in TRAITS.items():
        assert spec["type"] in TYPES and spec["help"], name
    with pytest.raises(ValueError, match="unknown field type"):
        protocol.field("float", "a number")


def test_every_command_reaches_a_session_method():
    assert set(ACTIONS) == set(COMMANDS)


@pytest.mark.parametrize(
    "content, fields",
    [
        (
            {"kind": "label", "iteration": 3, "ids": [1, 2], "label": "eye"},
            {"iteration": 3, "ids": [1, 2], "label": "eye"},
        ),
        ({"kind": "retry"}, {}),
        ({"kind": "search", "query": ""}, {"query": ""}),  # an empty query is the session's to refuse
        ({"kind": "map_text", "ids": [0]}, {"ids": [0]}),
    ],
)
def test_a_declared_command_comes_back_as_its_fields(content, fields):
    assert read_command(content, classes=CLASSES) == (content["kind"], fields)


@pytest.mark.parametrize(
    "content, error",
    [
        ({"kind": "explode"}, r"unknown command 'explode'; expected one of label, skip, rest, undo, submit"),
        ("label", "unknown command 'label'"),
        ({"no": "kind"}, "unknown command None"),
        ({"kind": ["label"]}, r"unknown command \['label'\]"),
        ({"kind": "retry", "force": True}, "a 'retry' command has no field 'force'; its fields are none"),
        ({"kind": "undo", "iteration": 0, "ids": [1]}, "a 'undo' command has no field 'ids'; its fields are iteration"),
        ({"kind": "undo"}, r"a 'undo' command must name the batch it is for \('iteration'\)"),
        ({"kind": "undo", "iteration": True}, "'iteration' must be an integer, got True"),
        ({"kind": "undo", "iteration": 1.0}, "'iteration' must be an integer, got 1.0"),
        ({"kind": "seed", "label": "eye"}, r"must name the texts it is about \('ids'\)"),
        ({"kind": "seed", "ids": [1.5], "label": "eye"}, "'ids' must be a non-empty list of integer ids, got"),
        ({"kind": "seed", "ids": [3, 3], "label": "eye"}, "the same id appears twice"),
        ({"kind": "seed", "ids": [3], "label": "nose"}, "unknown class 'nose'; the classes are other, eye"),
        ({"kind": "seed", "ids": [3], "label": 1}, "unknown class 1"),
        ({"kind": "search", "query": None}, "'query' must be a string, got None"),
    ],
)
def test_a_bad_command_is_refused_naming_the_problem(content, error):
    with pytest.raises(InputError, match=error):
        read_command(content, classes=CLASSES)


def test_without_classes_a_class_is_any_string():
    assert read_command({"kind": "rest", "iteration": 0, "label": "nose"}) == (
        "rest",
        {"iteration": 0, "label": "nose"},
    )
    assert check_value("bool", "full", False) is False
    with pytest.raises(InputError, match="'layers' must be an object"):
        check_value("object", "layers", [])


@pytest.fixture(scope="module")
def toy():
    return load_toy(n_majority=600, cluster_size=15, seen_size=20, seed=0)


def toy_session(toy):
    """A small session with a map, not started."""
    texts = [f"point {i}" for i in range(len(toy.coords))]
    labels = {int(np.flatnonzero(toy.labels == c)[0]): c for c in ("minority", "majority")}
    return build_session(
        texts,
        toy.classes,
        toy.minority,
        embeddings=toy.embeddings,
        seed_labels=labels,
        store=None,
        map=toy.coords,
        batch_size=5,
        index="exact",
        neighbours=20,
        subpool_size=100,
    )


def test_what_a_session_sends_and_shows_follows_the_declaration(toy):
    session = toy_session(toy)
    sent = []
    session.on_map(lambda header, buffers: sent.append(header))
    session.start()
    try:
        assert session.wait(60)
        it = session.snapshot()["iteration"]
        session.handle({"kind": "rest", "iteration": it, "label": "majority"})
        session.handle({"kind": "submit", "iteration": it})
        assert session.wait(60)
        session.handle({"kind": "map_sync"})
        session.handle({"kind": "map_text", "ids": [3]})
        kinds = [h["kind"] for h in sent]
        assert kinds[-1] == "map_text" and kinds.count("map_update") >= 3
        assert any(h["full"] for h in sent[:-1]) and not all(h["full"] for h in sent[:-1])
        for header in sent:
            check_message(header)
        snapshot = session.snapshot()
        assert list(snapshot) == list(TRAITS)
        for name, value in snapshot.items():
            check_value(TRAITS[name]["type"], name, value)
    finally:
        session.close()
    with pytest.raises(InputError, match="unknown message 'map_updates'"):
        check_message({"kind": "map_updates"})
    with pytest.raises(InputError, match=r"a 'map_text' message must name"):
        check_message({"kind": "map_text"})


def test_binary_buffers_come_only_with_the_messages_that_declare_them(toy):
    assert all(isinstance(spec["buffers"], bool) for spec in MESSAGES.values())
    session = toy_session(toy)
    sent = []
    session.on_map(lambda header, buffers: sent.append((header["kind"], len(buffers))))
    session.start()
    try:
        assert session.wait(60)
        session.handle({"kind": "map_text", "ids": [3]})
        last = len(toy.coords) - 1  # answered by a selection message even if left out
        session.handle({"kind": "label_selection", "ids": [last - 1, last], "label": "majority"})
        assert session.wait(60)
        session.handle({"kind": "review_page"})
        session.handle({"kind": "hello"})
        session.handle({"kind": "stopping"})
    finally:
        session.close()
    assert {kind for kind, _ in sent} == set(MESSAGES)
    for kind, count in sent:
        assert MESSAGES[kind]["buffers"] or count == 0, kind
    assert any(count for kind, count in sent if kind == "map_update")


FRAMEWORKS = {"anywidget", "traitlets"}


def test_nothing_below_the_widget_imports_anywidget_or_traitlets():
    package = ROOT / "anchoral_widget"
    for path in sorted(package.rglob("*.py")):
        if path == package / "widget.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in FRAMEWORKS, f"{path.relative_to(ROOT)} imports {name}"
    code = (
        "import sys, anchoral_widget, anchoral_widget.protocol, anchoral_widget.session.startup, "
        "anchoral_widget.session.labeller, anchoral_widget.views.mapview, anchoral_widget.replay.cli; "
        "print(sorted(m for m in ('anywidget', 'traitlets', 'ipywidgets') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_hello_is_answered_with_its_bytes_as_one_buffer_before_the_session_starts_and_without_a_map(toy):
    texts = [f"point {i}" for i in range(len(toy.coords))]
    session = build_session(texts, toy.classes, toy.minority, embeddings=toy.embeddings, store=None, map=False)
    sent = []
    session.on_map(lambda header, buffers: sent.append((header, buffers)))
    try:
        session.handle({"kind": "hello"})  # the view's first message: at once, whatever the loop is doing
        (header, buffers), *_ = sent
        check_message(header)
        assert header == {"kind": "hello", "bytes": list(HELLO_BYTES)} and buffers == [HELLO_BYTES]
        assert {0, 255} <= set(HELLO_BYTES) and any(b > 127 for b in HELLO_BYTES)
    finally:
        session.close()
