"""The map and curves of a session, and the messages that carry them to the front end.

:class:`MapChannel` holds the :class:`~anchoral_widget.views.mapview.MapView` (or none), the
listeners of its messages, and a worker of its own for the cross-validated F1 estimate (seconds
of work that must never delay a batch). Its one lock is held while a message is built and sent,
so that messages leave in the order their states were built.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from .. import protocol
from ..errors import InputError
from .guarded import GuardedLoop
from .notes import CURVES, SessionNotes
from .worker import Worker

OFF = {"status": "off", "fraction": 0.0, "text": ""}


class MapChannel:
    """Map messages (``(header, buffers)``) to the listeners, curves to ``on_curves``.

    Parameters
    ----------
    view : MapView or None
        None: the session has no map (its status says "off").
    guarded : GuardedLoop
        The map reads the loop holding its lock.
    on_curves : callable
        ``on_curves(curves)`` with the live curves after each change (any thread).
    on_error : callable
        ``on_error(exc)`` when the F1 estimate fails.
    """

    def __init__(self, view, guarded: GuardedLoop, on_curves: Callable[[dict], None], on_error):
        self.view = view
        self._guarded = guarded
        self._on_curves = on_curves
        self._listeners: list[Callable[[dict, list], None]] = []
        self._sending = threading.Lock()  # held while a message is built and sent: in order
        self._estimates = Worker("anchoral-estimate", on_error)
        self._notes: SessionNotes | None = None

    def keep_curves(self, notes: SessionNotes | None) -> None:
        """Keep what the curves computed in ``notes`` (beside the label store) after each change,
        starting from what an earlier session kept there: a restarted kernel draws every
        iteration's F1 estimate and predicted subpool share again."""
        self._notes = notes
        if notes is not None and self.view is not None:
            self.view.restore_curve_notes(notes.get(CURVES) or {})

    def _keep(self) -> None:
        if self._notes is not None and self.view is not None:
            self._notes.put(CURVES, self.view.curve_notes())

    def on_map(self, callback: Callable[[dict, list], None]) -> None:
        self._listeners.append(callback)

    def status(self) -> dict:
        return dict(OFF) if self.view is None else self.view.status()

    def start(self, on_status: Callable[[], None], on_ready: Callable[[], object]) -> None:
        """Fit the map in the background (see :meth:`MapView.start`)."""
        if self.view is not None:
            self.view.start(on_status=on_status, on_ready=on_ready)

    def stop(self) -> None:
        """Stop the map's fit (a closed session leaves no process behind)."""
        if self.view is not None:
            self.view.stop()

    def close(self, wait: bool = False) -> None:
        """Run the estimates queued, accept no more (``wait=True``: block until they have run)."""
        self._estimates.close(wait)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no F1 estimate is queued or running."""
        return self._estimates.wait(timeout)

    # ---- answers to the front end ---------------------------------------------------------

    def sync(self) -> None:
        """Send the whole map (a view opened late); nothing before the first update."""
        view = self._view()
        with self._sending:
            self._send(view.sync())

    def texts(self, ids: Sequence[int]) -> None:
        """Send the whole texts of clicked points."""
        view = self._view()
        with self._sending:
            self._send((view.texts_of(ids), []))

    def hello(self) -> None:
        """Answer a view's ``hello`` with :data:`~anchoral_widget.protocol.HELLO_BYTES` as a binary
        buffer: a front end that drops custom messages or buffers is told by what does not come."""
        with self._sending:
            self._send(({"kind": "hello", "bytes": list(protocol.HELLO_BYTES)}, [protocol.HELLO_BYTES]))

    def notify(self, header: dict) -> None:
        """Send a message without buffers (a selection stored), in order with the map's."""
        with self._sending:
            self._send((header, []))

    # ---- after a batch or a seed (worker thread) ----------------------------------------------

    def update(self, proposal=None) -> None:
        """Send what changed on the map, and the curves; start the F1 estimate of a new batch."""
        view = self.view
        if view is None:
            return
        estimate = None
        with self._guarded.held():
            if proposal is not None:
                estimate = view.observe(proposal)
                self._keep()
            curves = view.curves()
            with self._sending:
                self._send(view.update(proposal))
        self._on_curves(curves)
        if estimate is not None:  # seconds of cross-validation: never in the way of a submit
            self._estimates.submit(self._estimate, estimate)

    def note_rare_estimate(self, iteration: int, estimate: dict) -> None:
        """The rare items left as estimated now, for the curves. Call holding the loop; the curves
        are sent, and the notes kept, with the next batch's update (not in the wait before it
        shows); the point of the batch on screen is worked out again from the samples on a restart."""
        if self.view is not None:
            self.view.note_rare_estimate(iteration, estimate)

    def _estimate(self, estimate: Callable[[], None]) -> None:
        estimate()
        with self._guarded.held():
            self._keep()
            curves = self.view.curves()
        self._on_curves(curves)

    def _view(self):
        if self.view is None:
            raise InputError("this labeller has no map (map=False)")
        return self.view

    def _send(self, message) -> None:
        if message is not None:
            for callback in self._listeners:
                callback(*message)
