"""The batch on screen and the answers given to it so far: drafts, each action undoable, until
the batch is submitted. Plain state; the session holds its lock around every call. The screen
keeps them beside the label store after every change (:meth:`BatchDrafts.to_json`, see
:mod:`.notes`), so that a restarted kernel puts them back on the same batch (:meth:`restore`)."""

from __future__ import annotations

from typing import Any

from ..errors import InputError

_MISSING = object()


class BatchDrafts:
    """Cards of one batch, their draft answers (class name, or None for skipped) and an undo
    stack with one entry per action."""

    def __init__(self):
        self.show([], -1)

    def show(self, cards: list[dict], iteration: int, answers: dict | None = None) -> None:
        """Put a batch on screen (``answers`` to restore one whose storing failed)."""
        self.cards, self.ids = cards, {c["id"] for c in cards}
        self.iteration, self.answers = iteration, dict(answers or {})
        self._undo: list[dict[int, Any]] = []  # per action: id -> the answer it replaced

    def __bool__(self) -> bool:
        return bool(self.cards)

    def check(self, iteration: int | None, status: str) -> None:
        """A command about a batch must be about the one on screen."""
        if not self.cards:
            raise InputError(f"no batch to label right now ({status})")
        if iteration is not None and iteration != self.iteration:
            raise InputError(
                f"that command was for batch {iteration}, but batch {self.iteration} is on screen: nothing was changed"
            )

    def answer(self, ids: list[int] | None, label: str | None) -> None:
        """One undoable action; ``ids=None`` means every card without an answer."""
        if ids is None:
            ids = [c["id"] for c in self.cards if c["id"] not in self.answers]
            if not ids:
                raise InputError("every card of this batch already has an answer")
        bad = [i for i in ids if i not in self.ids]
        if bad:
            raise InputError(f"text {bad[0]} is not in the current batch")
        self._undo.append({i: self.answers.get(i, _MISSING) for i in ids})
        self.answers.update({i: label for i in ids})

    def undo(self) -> None:
        """Take back the last action (one card, or a whole "rest are")."""
        if not self._undo:
            raise InputError("nothing to undo in this batch")
        for item, before in self._undo.pop().items():
            if before is _MISSING:
                del self.answers[item]
            else:
                self.answers[item] = before

    def to_json(self) -> dict:
        """The drafts as JSON, to keep: the batch's iteration and card ids, answers, undo steps."""
        return {
            "iteration": self.iteration,
            "ids": sorted(self.ids),
            "answers": [[i, a] for i, a in self.answers.items()],
            "undo": [[[i, b is not _MISSING, None if b is _MISSING else b] for i, b in s.items()] for s in self._undo],
        }

    def restore(self, kept: dict | None) -> bool:
        """Take back drafts kept for this very batch (the same iteration and cards); False, and
        nothing changed, for any other."""
        if not kept or kept.get("iteration") != self.iteration or kept.get("ids") != sorted(self.ids):
            return False
        self.answers = {int(i): a for i, a in kept["answers"]}
        self._undo = [{int(i): (b if had else _MISSING) for i, had, b in step} for step in kept["undo"]]
        return True

    def take(self) -> tuple[dict, list[dict], int]:
        """The answered batch, leaving the screen empty; every card needs an answer."""
        missing = [c["id"] for c in self.cards if c["id"] not in self.answers]
        if missing:
            raise InputError(
                f"{len(missing)} card(s) have no answer yet: label or skip them, "
                "or give the rest one class, then submit"
            )
        taken = (dict(self.answers), self.cards, self.iteration)
        self.show([], self.iteration)
        return taken
