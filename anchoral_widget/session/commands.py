"""Commands from a front end: a message checked against :mod:`anchoral_widget.protocol`, then
the session method it names. Nothing changes before every field has been checked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import protocol

#: kind -> what it does to a session, given the checked fields. One entry per protocol command.
ACTIONS: dict[str, Callable[[Any, dict], None]] = {
    "label": lambda s, f: s.label(f["ids"], f["label"], iteration=f["iteration"]),
    "skip": lambda s, f: s.skip(f["ids"], iteration=f["iteration"]),
    "rest": lambda s, f: s.rest(f["label"], iteration=f["iteration"]),
    "undo": lambda s, f: s.undo(iteration=f["iteration"]),
    "submit": lambda s, f: s.submit(iteration=f["iteration"]),
    "search": lambda s, f: s.search(f["query"]),
    "seed": lambda s, f: s.seed(f["ids"], f["label"]),
    "retry": lambda s, f: s.retry(),
    "map_sync": lambda s, f: s.map_sync(),
    "map_text": lambda s, f: s.map_text(f["ids"]),
    "label_selection": lambda s, f: s.label_selection(f["ids"], f["label"]),
    "skip_selection": lambda s, f: s.skip_selection(f["ids"]),
    "undo_selection": lambda s, f: s.undo_selection(),
    "hello": lambda s, f: s.hello(),
    "review_page": lambda s, f: s.review.send_page(f),
    "review_correct": lambda s, f: s.review.from_view("review_correct", f),
    "review_resolve": lambda s, f: s.review.from_view("review_resolve", f),
    "review_remove": lambda s, f: s.review.from_view("review_remove", f),
    "stopping": lambda s, f: s.review.send_stopping(),
    "check_sample": lambda s, f: s.review.from_stopping("check_sample", f),
    "check_answer": lambda s, f: s.review.from_stopping("check_answer", f),
}


def dispatch(session, content: Any) -> None:
    """Carry out one command ``{"kind": ..., ...}`` on ``session`` (a :class:`LabelSession`).

    Raises :class:`~anchoral_widget.errors.InputError` naming the problem when the message
    does not follow the protocol or the session refuses it; the session is then as it was.
    """
    kind, fields = protocol.read_command(content, classes=session.class_names)
    ACTIONS[kind](session, fields)
