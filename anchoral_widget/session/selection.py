"""Labelling from the map: "label all as <class>" and "skip all" for a selection of pool items,
each stored as ONE event of the loop (``source="map"``), so that one undo takes it back, the
store keeps it as such, and AnchorAL uses its labels like any others.

The rule for what a selection holds: only its *open* texts are stored, those neither labelled
nor skipped, nor on a card of the batch on screen (a card is answered on the card, with its
drafts), nor held by a label still being stored. The others are left as they were, and the
answer says how many. A selection is stored in the background, like a seed label: 100,000 ids
never block the kernel.

:class:`Selection` is a part of :class:`~.labeller.LabelSession`, which owns it and hands it
the parts it works with (the guarded loop, the screen, the worker, the map channel); the front
end hears of each stored or undone selection through a ``selection`` message (see
:data:`anchoral_widget.protocol.MESSAGES`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import InputError
from .guarded import GuardedLoop
from .mapchannel import MapChannel
from .screen import Screen
from .worker import Worker

#: The event source of a selection, as the store and :attr:`ActiveLoop.events` keep it.
MAP = "map"
SELECTION = "selection"  # the worker's selection jobs: an undo sent meanwhile waits for them


def check_ready_ids(loop: Any, ids: Sequence[int]) -> None:
    """An InputError unless the pool is ready (``loop`` exists) and every id is one of its
    texts: what labelling texts outside a batch (search seeds, a selection) first checks."""
    if loop is None:
        raise InputError("the pool is still being prepared: label texts once it is ready")
    n = len(loop.embeddings)
    bad = [i for i in ids if not 0 <= i < n]
    if bad:
        raise InputError(f"no text has id {bad[0]} (the pool has ids 0 to {n - 1})")


def left_out_words(left: dict[str, int]) -> str:
    """``"3 left as they were (2 labelled or skipped, 1 in the batch on screen)"``; '' for none."""
    total = sum(left.values())
    if not total:
        return ""
    parts = ", ".join(f"{n:,} {why}" for why, n in left.items() if n)
    return f"{total:,} left as they were ({parts})"


def undo_refusal(loop: Any) -> str:
    """Why the loop's last event cannot be undone as a selection ('' when it can)."""
    events = loop.events
    if not events or events[-1].source != MAP:
        return (
            "the last thing stored is not a selection from the map (a batch or a label came after it): "
            "nothing was undone"
        )
    if loop.pending is not None and loop.pending.events_seen >= len(events):
        return (
            "the batch on screen was proposed after the selection was stored, from its labels: the "
            "selection can no longer be undone (label its texts again instead)"
        )
    return ""


class Selection:
    """Selections of texts from the map, labelled or skipped as one event, and undone as one.

    Parameters
    ----------
    guarded : GuardedLoop
        The loop the selections are stored in (its lock held while one is).
    screen : Screen
        What the screen shows: the texts held while a selection is stored, the batch's cards.
    worker : Worker
        The session's worker: a selection is stored there, in order with the batches.
    channel : MapChannel
        The map, updated after each selection, and the ``selection`` messages.
    propose : callable
        The session's job that proposes the next batch (a selection may start the loop).
    report : callable
        ``report(exc)``: an undo refused once its turn came, shown under the widget.
    """

    def __init__(
        self,
        guarded: GuardedLoop,
        screen: Screen,
        worker: Worker,
        channel: MapChannel,
        *,
        propose: Callable[[], None],
        report: Callable[[BaseException], None],
    ):
        self._guarded, self._screen, self._worker, self._channel = guarded, screen, worker, channel
        self._propose, self._report = propose, report

    def label(self, ids: Sequence[int], label: str | None) -> None:
        """Label the open texts among ``ids`` with class ``label`` (a checked class name; None:
        skip them), as one undoable event stored in the background."""
        check_ready_ids(self._guarded.loop, ids)
        chosen, left = self._screen.hold_selection(list(ids))
        self._worker.submit(self._store, chosen, label, left, tag=SELECTION)

    def undo(self) -> None:
        """Take back the last selection labelled or skipped; an InputError if something was stored
        or a batch proposed since (then it is no longer the last thing done)."""
        loop = self._guarded.loop
        if loop is None:
            raise InputError("nothing to undo: the pool is still being prepared")
        if self._worker.wait(0, tag=SELECTION):  # none queued: what is stored says it all
            refusal = undo_refusal(loop)
            if refusal:
                raise InputError(refusal)
        self._worker.submit(self._undo, tag=SELECTION)

    # ---- worker jobs ----------------------------------------------------------------------

    def _store(self, ids: list[int], label: str | None, left: dict[str, int]) -> None:
        try:
            with self._guarded.held() as loop:
                assert loop is not None  # checked when the selection was sent
                arr = np.asarray(ids, dtype=np.int64)
                batch = np.empty(0, np.int64) if loop.pending is None else loop.pending.batch_ids
                keep = ~loop.excluded[arr] & ~np.isin(arr, batch)  # what changed since it was sent
                now = arr[keep].tolist()
                left = {**left, "labelled or skipped": left.get("labelled or skipped", 0) + int((~keep).sum())}
                if not now:
                    raise InputError("every selected text was labelled or skipped meanwhile: nothing was stored")
                if label is None:
                    self._guarded.store({}, now, source=MAP)
                else:
                    self._guarded.store(dict.fromkeys(now, self._guarded.class_of(label)), source=MAP)
        except BaseException:
            self._screen.release(ids)  # not stored: free to label again
            raise
        cold = self._screen.settle(ids, now, label)
        self._channel.update()
        if cold:  # starts the loop, or says which classes still lack a label
            self._propose()
        what = f"labelled {len(now):,} texts {label}" if label is not None else f"skipped {len(now):,} texts"
        self._tell("skip" if label is None else "label", label, len(now), sum(left.values()), what, left)

    def _undo(self) -> None:
        with self._guarded.held() as loop:
            refusal = undo_refusal(loop)
            if refusal:
                self._report(InputError(refusal))
                return
            event = self._guarded.undo()
        ids = event.ids.tolist()
        self._screen.unsettle(ids)
        self._channel.update()
        label = None if event.classes is None else self._guarded.class_names[int(event.classes[0])]
        what = f"took back {len(ids):,} texts " + (f"labelled {label}" if label is not None else "skipped")
        self._tell("undo", label, len(ids), 0, what, {})

    def _tell(self, action: str, label: str | None, count: int, left_out: int, what: str, left: dict) -> None:
        loop = self._guarded.loop
        with self._guarded.held():
            undoable = action != "undo" and not undo_refusal(loop)
        words = left_out_words(left)
        header = {
            "kind": "selection",
            "action": action,
            "count": count,
            "left_out": left_out,
            "text": f"{what}; {words}" if words else what,
            "undoable": undoable,
        }
        if label is not None:
            header["label"] = label
        self._channel.notify(header)
