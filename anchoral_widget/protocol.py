"""Every message between the front end and the kernel, declared once.

- :data:`COMMANDS`: what the front end sends (``model.send({kind, ...})``), checked on arrival
  by :func:`read_command` before the session sees it;
- :data:`MESSAGES`: what the kernel sends (``widget.send(header, buffers)``): the kind, the
  top-level fields (the map's layers are an open object here; their format is
  :func:`~anchoral_widget.views.mapupdate.map_update_payload`'s) and whether binary buffers
  come with it; the front end checks each on arrival before a view sees it;
- :data:`TRAITS`: the synced traits, by the name they have in Python and in ``js/src/model.js``.

A field's type is one of :data:`TYPES`. The front end reads the same declaration from
``js/src/protocol.json``, which ``python -m anchoral_widget.protocol`` writes from this module
(a test fails when the committed file differs), and builds every message it sends through one
helper that checks it (``js/src/protocol.js``).

Imports nothing but :mod:`anchoral_widget.errors`: the session and the widget both read it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import InputError

VERSION = 1

#: Field types, the same on both sides, and how an error names them.
TYPES = {
    "int": "an integer",
    "str": "a string",
    "bool": "true or false",
    "class": "the name of one of the classes",
    "ids": "a non-empty list of integer ids",
    "list": "a list",
    "object": "an object",
}


def field(type: str, help: str, *, optional: bool = False) -> dict:
    """One field of a message: its type (one of :data:`TYPES`), what it is, whether it may be left out."""
    if type not in TYPES:
        raise ValueError(f"unknown field type {type!r}")
    return {"type": type, "optional": optional, "help": help}


_ITERATION = field("int", "the batch it is for")
_IDS = field("ids", "the texts it is about")
_CLASS = field("class", "the class to give")

# The review view's filters and page, sent with each of its commands (it keeps no state here).
_REVIEW_FILTERS = {
    "label": field("class", "only labels of this class", optional=True),
    "annotator": field("str", "only labels given first by this person", optional=True),
    "iteration": field("int", "only labels of this iteration (-1: outside any batch)", optional=True),
    "disagree": field("bool", "only labels the last model disagrees with", optional=True),
    "conflicts": field("bool", "only items people answered differently, not resolved yet", optional=True),
    "doubted": field(
        "bool", "only labels a cross-validated label check doubts, the least probable first", optional=True
    ),
    "offset": field("int", "the first row of the page, newest labels first", optional=True),
}

#: What the answer to ``hello`` carries as its binary buffer: every byte value class that a text
#: decoding or a JSON round trip would mangle (0, >127, 255).
HELLO_BYTES = bytes([0, 1, 10, 127, 128, 200, 255, 65])

#: Front end -> kernel: kind -> what it asks and its fields.
COMMANDS: dict[str, dict] = {
    "label": {
        "help": "Give cards of the batch on screen a class (a draft until submit).",
        "fields": {"iteration": _ITERATION, "ids": _IDS, "label": _CLASS},
    },
    "skip": {"help": "Skip cards of the batch on screen.", "fields": {"iteration": _ITERATION, "ids": _IDS}},
    "rest": {
        "help": "Give every card of the batch without an answer one class.",
        "fields": {"iteration": _ITERATION, "label": _CLASS},
    },
    "undo": {"help": "Take back the last action on the batch.", "fields": {"iteration": _ITERATION}},
    "submit": {"help": "Send the answered batch; the next one is prepared.", "fields": {"iteration": _ITERATION}},
    "search": {
        "help": "Find the texts nearest in meaning to a query.",
        "fields": {"query": field("str", "the words to search for")},
    },
    "seed": {
        "help": "Label texts outside any batch (found by search or on the map).",
        "fields": {"ids": _IDS, "label": _CLASS},
    },
    "retry": {"help": "Try again to prepare the next batch after an error.", "fields": {}},
    "hello": {
        "help": "A view's first message; answered by hello, with a binary buffer (both must arrive).",
        "fields": {},
    },
    "map_sync": {"help": "Send the whole map (a view opened late); answered by a full map_update.", "fields": {}},
    "map_text": {"help": "Send the whole texts of clicked points; answered by map_text.", "fields": {"ids": _IDS}},
    "label_selection": {
        "help": "Label a selection of texts (drawn on the map) as one undoable event: the open ones "
        "(not labelled, skipped or in the batch on screen); answered by selection.",
        "fields": {"ids": field("ids", "the selected texts"), "label": _CLASS},
    },
    "skip_selection": {
        "help": "Skip a selection of texts as one undoable event (the open ones); answered by selection.",
        "fields": {"ids": field("ids", "the selected texts")},
    },
    "undo_selection": {
        "help": "Take back the last selection labelled or skipped, if nothing was stored or proposed since; "
        "answered by selection.",
        "fields": {},
    },
    "review_page": {"help": "Send a page of past labels; answered by review_page.", "fields": _REVIEW_FILTERS},
    "review_correct": {
        "help": "Give past labels another class (one event, the old answers kept); answered by review_page.",
        "fields": {"ids": _IDS, "to": field("class", "the class to give"), **_REVIEW_FILTERS},
    },
    "review_resolve": {
        "help": "Decide the class of items people answered differently (an event of its own, logged even when "
        "the class stays); answered by review_page.",
        "fields": {"ids": _IDS, "to": field("class", "the class decided"), **_REVIEW_FILTERS},
    },
    "review_remove": {
        "help": "Take past labels away (one event, the old answers kept); answered by review_page.",
        "fields": {"ids": _IDS, **_REVIEW_FILTERS},
    },
    "stopping": {
        "help": "Send the stopping panel: rare items found, the estimate of those left, each stopping rule's "
        "verdict, and the check-sample texts not answered yet; answered by stopping.",
        "fields": {},
    },
    "check_sample": {
        "help": "Draw a check sample: about this many unlabelled texts at random (by design, not by the model), "
        "to estimate the rare items left; answered by stopping.",
        "fields": {"size": field("int", "how many texts to draw")},
    },
    "check_answer": {
        "help": "Answer check-sample texts (stored as labels of source 'sample'); answered by stopping.",
        "fields": {"ids": _IDS, "label": _CLASS},
    },
}

#: Kernel -> front end: kind -> what it carries, its top-level fields, and ``buffers``: whether
#: binary buffers may come with it (none may come with a message that says False).
MESSAGES: dict[str, dict] = {
    "map_update": {
        "help": "What changed on the map, with binary buffers (views.mapupdate.map_update_payload).",
        "fields": {
            "version": field("int", "the payload format's version"),
            "iteration": field("int", "the loop iteration drawn"),
            "full": field("bool", "true: drop every layer first"),
            "layers": field("object", "layer name -> arrays as buffer references; an absent layer is unchanged"),
            "texts": field("object", "str(id) -> hover text of points not sent before", optional=True),
            "classes": field("list", "class names (full updates only)", optional=True),
            "minority": field("list", "minority class names (full updates only)", optional=True),
            "traces": field(
                "list", "the map's trace declarations, bottom first (full updates, or when they change)", optional=True
            ),
            "layout": field("object", "the map's plotly layout (with the declarations)", optional=True),
        },
        "buffers": True,
    },
    "hello": {
        "help": "The answer to hello: one binary buffer holding these bytes. A front end that drops custom "
        "messages never sees it; one that drops buffers sees it without.",
        "fields": {"bytes": field("list", "the buffer's bytes, 0-255")},
        "buffers": True,
    },
    "map_text": {
        "help": "The whole texts of clicked points (the answer to map_text).",
        "fields": {"texts": field("object", "str(id) -> text")},
        "buffers": False,
    },
    "review_page": {
        "help": "A page of past labels, newest first, for the review view (the answer to review_page, "
        "review_correct and review_remove).",
        "fields": {
            "rows": field(
                "list",
                "[{id, text, label, annotator, iteration, predicted, confidence, others, conflict, doubt}] "
                "(doubt: the label check's evidence in words, or null)",
            ),
            "total": field("int", "labels that pass the filters"),
            "offset": field("int", "the page's first row"),
            "annotators": field("list", "everyone who labelled, for the filter"),
            "iterations": field("list", "the iterations with labels, for the filter"),
            "model": field("bool", "whether predicted and disagree are known (a model that reads embeddings)"),
            "text": field("str", "what the last change did, in words ('' for none)"),
            "agreement": field("str", "the team's agreement and conflicts, in words ('' with one person)"),
        },
        "buffers": False,
    },
    "stopping": {
        "help": "The stopping panel (the answer to stopping, check_sample and check_answer).",
        "fields": {
            "lines": field("list", "the report in words, a line each: found, the estimate left, each rule's verdict"),
            "open": field("list", "[{id, text}]: check-sample texts to answer (at most 50 at a time)"),
            "unanswered": field("int", "check-sample texts not answered yet, all of them"),
            "said": field("str", "what the last command did, in words ('' for none)"),
        },
        "buffers": False,
    },
    "selection": {
        "help": "A selection stored or taken back (the answer to label_selection, skip_selection, undo_selection).",
        "fields": {
            "action": field("str", "label, skip or undo"),
            "label": field("str", "the class given (label only)", optional=True),
            "count": field("int", "texts stored (or, for undo, taken back)"),
            "left_out": field("int", "selected texts left as they were: labelled, skipped or in the batch"),
            "text": field("str", "what happened, in words"),
            "undoable": field("bool", "whether undo_selection can take it back now"),
        },
        "buffers": False,
    },
}

#: The synced traits: the same names in ``widget.py`` and in the ``Model`` type of ``js/src/model.js``.
TRAITS: dict[str, dict] = {
    "classes": {"type": "list", "help": "Class names, as the buttons show them."},
    "minority": {"type": "list", "help": "The rare classes."},
    "batch": {
        "type": "list",
        "help": "Cards of the batch on screen: id, text, predicted, confidence, proba, score, "
        "anchor {id, text, label, similarity}, model_labelled (labels of the model that proposed it; "
        "null: no model yet, drawn at random), model_stand_in (true: the embedding model proposed it "
        "while the first fine-tuning runs).",
    },
    "answers": {
        "type": "object",
        "help": "Drafts for the batch on screen: str(id) -> class, or None for skipped. Stored in the loop on submit.",
    },
    "iteration": {"type": "int", "help": "The loop iteration of the batch on screen."},
    "phase": {"type": "str", "help": "preparing, starting, cold, training, selecting, ready, done or error."},
    "status": {
        "type": "str",
        "help": "The status line: the seconds the last batch took, the model that proposed it, and with "
        "label-ahead the fine-tuning running in the background.",
    },
    "seconds": {"type": "object", "help": "Seconds the last batch took: train, select, total."},
    "progress": {
        "type": "object",
        "help": "labelled, skipped, budget, pool, counts per class, missing classes, iteration, store (where "
        "the labels are kept, relative to the working folder; null: in memory only).",
    },
    "search": {
        "type": "object",
        "help": "The last search: query, busy, results [{id, text, similarity, label, skipped}], seconds.",
    },
    "error": {"type": "str", "help": "The last error, shown under the widget; '' for none."},
    "map_status": {
        "type": "object",
        "help": "The map: status (off, idle, fitting, ready, error), fraction, text for the status line "
        "('' once drawn).",
    },
    "curves": {
        "type": "object",
        "help": "Live curves: traces [{uid, name, panel, x, y, ...}], titles, estimate, test.",
    },
    "startup": {
        "type": "object",
        "help": "The start-up's progress: stage (starting, encoding, pool, store, map, ready; index while the "
        "index is built in the background; upgrade while a better encoder encodes the pool; error), text, done, "
        "total, rate (per second), left (seconds), seconds per finished stage, embeddings (which serve the "
        "batches while an upgrade is on: fast, then MiniLM; null without one).",
    },
}


# ---- checking ---------------------------------------------------------------------------


def read_command(content: Any, *, classes: Sequence[str] | None = None) -> tuple[str, dict]:
    """``(kind, fields)`` of a command from the front end, every field checked.

    ``classes``: the names a ``class`` field may take (unchecked beyond being a string when
    None). Raises :class:`InputError` naming the first problem: an unknown kind, a missing,
    unknown or mistyped field.
    """
    kind = content.get("kind") if isinstance(content, dict) else content
    if not isinstance(content, dict) or not isinstance(kind, str) or kind not in COMMANDS:
        raise InputError(f"unknown command {kind!r}; expected one of {', '.join(COMMANDS)}")
    return kind, _check(COMMANDS[kind]["fields"], content, f"a {kind!r} command", classes)


def check_message(content: Any) -> None:
    """Check a message the kernel sends against :data:`MESSAGES` (its top-level fields)."""
    kind = content.get("kind") if isinstance(content, dict) else content
    if not isinstance(content, dict) or not isinstance(kind, str) or kind not in MESSAGES:
        raise InputError(f"unknown message {kind!r}; expected one of {', '.join(MESSAGES)}")
    _check(MESSAGES[kind]["fields"], content, f"a {kind!r} message", None)


def _check(fields: dict, content: dict, what: str, classes: Sequence[str] | None) -> dict:
    unknown = [name for name in content if name != "kind" and name not in fields]
    if unknown:
        raise InputError(f"{what} has no field {unknown[0]!r}; its fields are {', '.join(fields) or 'none'}")
    out = {}
    for name, spec in fields.items():
        if name not in content:
            if spec["optional"]:
                continue
            raise InputError(f"{what} must name {spec['help']} ({name!r})")
        out[name] = check_value(spec["type"], name, content[name], classes)
    return out


def check_value(type: str, name: str, value: Any, classes: Sequence[str] | None = None) -> Any:
    """``value`` if it has ``type``; else an :class:`InputError` naming the field and the problem."""
    if type == "class":
        if not isinstance(value, str) or (classes is not None and value not in classes):
            known = "" if classes is None else f"; the classes are {', '.join(classes)}"
            raise InputError(f"unknown class {value!r}{known}")
        return value
    if type == "ids":
        if not isinstance(value, list) or not value or not all(_is_int(i) for i in value):
            raise InputError(f"{name!r} must be {TYPES['ids']}, got {value!r}")
        if len(set(value)) != len(value):
            raise InputError("the same id appears twice in one command")
        return value
    ok = {
        "int": _is_int,
        "str": lambda v: isinstance(v, str),
        "bool": lambda v: isinstance(v, bool),
        "list": lambda v: isinstance(v, list),
        "object": lambda v: isinstance(v, dict),
    }[type]
    if not ok(value):
        raise InputError(f"{name!r} must be {TYPES[type]}, got {value!r}")
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# ---- the front end's copy -----------------------------------------------------------------

JSON_PATH = Path(__file__).resolve().parent.parent / "js" / "src" / "protocol.json"


def to_json() -> str:
    """The declaration as the front end reads it (``js/src/protocol.json``)."""
    declaration = {
        "//": "Written by `python -m anchoral_widget.protocol` from anchoral_widget/protocol.py: edit that, not this.",
        "version": VERSION,
        "types": TYPES,
        "commands": COMMANDS,
        "messages": MESSAGES,
        "traits": TRAITS,
    }
    return json.dumps(declaration, indent=2, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m anchoral_widget.protocol [--check] [PATH]``: write the front end's copy
    (default ``js/src/protocol.json`` of the source tree); ``--check``: only say whether it differs."""
    args = list(sys.argv[1:] if argv is None else argv)
    check = "--check" in args
    paths = [a for a in args if a != "--check"]
    path = Path(paths[0]) if paths else JSON_PATH
    text = to_json()
    if check:
        same = path.is_file() and path.read_text(encoding="utf-8") == text
        print(f"{path}: {'up to date' if same else 'differs from anchoral_widget/protocol.py'}")
        return 0 if same else 1
    if not path.parent.is_dir():
        print(f"no folder {path.parent}: pass the path to write", file=sys.stderr)
        return 2
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
