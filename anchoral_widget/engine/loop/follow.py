"""A loop kept in step with its store's log, which other kernels may write to as well.

The log's order is the truth: every row, this kernel's included, is applied in the order of its
sequence number, so that a loop that labelled live and a loop that replays the log later end in
the same state. Writing a row applies, first, the rows others wrote since the last look, then
the row itself. Rows are someone's own by their annotator; a row from before annotators ("")
counts as everyone's.

Batches never overlap: the items of someone else's open batch are held for them, left out of
this kernel's proposals, and taken out of a batch proposed later than theirs (two kernels that
proposed at the same moment: the one logged first keeps its items).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ...errors import InputError
from .records import Event, Proposal

if TYPE_CHECKING:
    from .active import ActiveLoop
    from .store import LabelStore
    from .store_backends import Row


class LogFollower:
    """The rows of ``store`` applied to ``loop`` once each, in the log's order."""

    def __init__(self, loop: ActiveLoop, store: LabelStore, annotator: str) -> None:
        self.loop, self.store, self.annotator = loop, store, annotator
        self.seen = 0  # the last sequence number applied
        self.open_batches: dict[str, np.ndarray] = {}  # someone else -> their open batch's items

    def mine(self, annotator: str) -> bool:
        return annotator in (self.annotator, "")

    def held_for_others(self, but: str | None = None) -> np.ndarray:
        """Items in someone else's open batch (``but`` one's: a batch of theirs replaces it), not
        answered yet: out of this kernel's proposals."""
        batches = [ids for who, ids in self.open_batches.items() if who != but]
        if not batches:
            return np.zeros(0, dtype=np.int64)
        held = np.unique(np.concatenate(batches))
        return np.asarray(held[~self.loop.excluded[held]])

    def catch_up(self) -> int:
        """Apply the rows written since the last look (by others: this kernel's are applied as it
        writes them); returns how many."""
        rows = self.store.rows(self.seen)
        for row in rows:
            self._restore(row)
        return len(rows)

    def write(self, kind: str, payload: dict[str, Any], apply_mine: Callable[[], object]) -> None:
        """Log one row of this kernel's, then apply what others logged before it, then it."""
        seq = self.store.append(kind, payload, self.annotator)
        for row in self.store.rows(self.seen):
            if row.seq == seq:
                apply_mine()
                self.seen = seq
            else:
                self._restore(row)

    def proposed(self, proposal: Proposal, by: str | None = None) -> Proposal:
        """A proposal (``by`` someone else: None, this kernel's) less what the others' batches,
        logged before it, hold and what was answered meanwhile (rows logged while it was being
        made; its second answers aside)."""
        batch = proposal.batch_ids
        taken = batch[self.loop.excluded[batch] & ~np.isin(batch, proposal.second_ids)]
        return proposal.without(np.union1d(self.held_for_others(but=by), taken))

    def _restore(self, row: Row) -> None:
        restore(self.loop, row.kind, json.loads(row.payload), row.annotator, self)
        self.seen = row.seq


def restore(loop: ActiveLoop, kind: str, payload: dict[str, Any], annotator: str, follower: LogFollower) -> None:
    """Apply one logged step (``label``, ``skip``, ``correct``, ``remove``, ``resolve``, ``undo`` or
    ``propose``) as recorded, writing nothing: how a label store rebuilds the loop."""
    mine = follower.mine(annotator)
    if kind == "propose":
        proposal = Proposal.from_payload(payload)
        if mine:
            loop.take_pending(follower.proposed(proposal), replayed=True)
        else:
            follower.open_batches[annotator] = follower.proposed(proposal, by=annotator).batch_ids
    elif kind in ("label", "skip", "correct", "remove", "resolve"):
        classes = None if kind in ("skip", "remove") else loop.class_indices(payload["labels"])
        ids = loop.checked_ids(payload["ids"])
        loop.apply_event(Event.from_payload(kind, ids, classes, payload, annotator))
    elif kind == "undo":
        loop.revert_last(loop.annotator if mine else annotator)
    else:
        raise InputError(
            f"unknown logged step {kind!r}: expected label, skip, correct, remove, resolve, undo or propose"
        )
