"""The map and the live curves of a labelling session, with no widget in it.

:class:`MapView` owns the pool's :class:`~anchoral_widget.views.projection.Projection` (fitted in the
background, so it never delays a batch) and the last :class:`~anchoral_widget.views.mapstate.MapState`
it sent. After each batch the session asks it for

- :meth:`MapView.update`: what changed on the map since the last message, as a small JSON
  header and binary buffers (the format of :func:`~anchoral_widget.views.mapupdate.map_update_payload`);
- :meth:`MapView.sync`: the whole current map, for a view that opens later;
- :meth:`MapView.curves`: the live curves as JSON (a few numbers per iteration).

Without a held-out set the F1 curves are cross-validated on the labelled set
(:func:`~anchoral_widget.engine.learners.estimates.cross_validated_f1`) and marked as an estimate; the
subpool's minority share is always the model's prediction in a labelling session (its items are
not labelled) and is marked so too.

The session calls :meth:`observe`, :meth:`update` and :meth:`curves` holding its loop lock:
they read the loop.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from ..engine.learners.estimates import cross_validated_f1, predicted_minority_share
from ..engine.learners.learner import take
from ..engine.pool import learner_reads_texts
from ..errors import InputError
from .curves import curve_data, curves_traces
from .mapstate import MapState, map_state_from_loop
from .mapupdate import map_update_payload, payload_bytes
from .projection import Projection

TEXT_CHARS = 100
POLL_SECONDS = 0.25
#: Panel of each curve (0: minority share, 1: F1, 2: waiting time, 3: labels per class).
PANELS = {(1, 1): 0, (1, 2): 1, (2, 1): 2, (2, 2): 3}


class MapView:
    """The map and curves of one session's loop.

    Parameters
    ----------
    loop : ActiveLoop
        Its pool's texts are what hover and click show (read from the pool, which holds them).
    projection : Projection or (n, 2) array, optional
        A ready or startable map; an array gives the positions directly (the toy data's
        coordinates). Default: UMAP of the loop's embeddings, cached in ``cache_dir``, with every
        item of the pool placed in the background (the map draws them all).
    cache_dir : path, optional
        Where the fitted map is cached; default the encoder's cache folder.
    """

    def __init__(self, loop, *, projection=None, cache_dir=None):
        self.loop = loop
        self._owns_projection = projection is None
        if projection is None:
            from ..engine.vectors.encoder import default_cache_dir

            projection = Projection(
                loop.embeddings,
                cache_dir=cache_dir or default_cache_dir(),
                seed=loop.seed,
                fingerprint=lambda: loop.pool.embeddings_fingerprint,
                place_all=True,
            )
        elif not isinstance(projection, Projection):
            coords = np.asarray(projection, dtype=np.float32)
            if coords.shape != (len(loop.embeddings), 2):
                raise InputError(f"map coordinates must have shape ({len(loop.embeddings)}, 2), got {coords.shape}")
            projection = Projection.from_coords(coords)
        elif len(projection.embeddings) != len(loop.embeddings):
            raise InputError(
                f"the map covers {len(projection.embeddings)} items but the pool has {len(loop.embeddings)}"
            )
        self.projection = projection
        self._lock = threading.Lock()
        self._previous: MapState | None = None  # the MapState last sent
        self._estimates: dict[tuple[int, int], dict] = {}  # (iteration, labelled count) -> CV F1
        self._subpool_share: dict[int, float] = {}
        self._rare: dict[int, dict] = {}  # iteration -> the rare items left, estimated (see note_rare_estimate)
        self._watcher = FitWatcher(self)
        #: seconds each :meth:`update` took (building the state and the payload)
        self.update_seconds_: list[float] = []
        #: bytes of each message (JSON header + buffers)
        self.update_bytes_: list[int] = []

    # ---- the fit -----------------------------------------------------------------------

    def start(self, on_status: Callable[[], None], on_ready: Callable[[], None]) -> None:
        """Start the fit in the background (a child process); ``on_status()`` is called when
        :meth:`status` changes, ``on_ready()`` once the map can be drawn (at once if it can)."""
        if self.projection.ready:
            on_ready()
            return
        self.projection.start(self.loop.labelled_ids)
        self._watcher.start(on_status, on_ready)

    def stop(self) -> None:
        """Stop watching the fit, and stop the fit itself if this view started it: a closed
        widget leaves no process behind."""
        self._watcher.stop()
        if self._owns_projection:
            self.projection.cancel()

    def status(self) -> dict:
        """``{"status", "fraction", "text"}``: the map's state for the status line; ``text`` is
        ``""`` once the map is drawn."""
        p = self.projection.progress()
        status, fraction = p["status"], round(float(p["fraction"]), 2)
        if status == "ready":
            text = ""
        elif status == "error":
            text = f"map: could not be drawn ({p['error']})"
        elif status == "idle":
            text = "map: waiting…"
        elif p["phase"] == "placing":
            text = f"map: placing every item of the pool… {fraction * 100:.0f}%"
        else:
            text = f"map: fitting UMAP… {fraction * 100:.0f}%"
        return {"status": status, "fraction": fraction, "text": text}

    @property
    def ready(self) -> bool:
        return self.projection.ready

    # ---- per iteration -----------------------------------------------------------------

    def observe(self, proposal) -> Callable[[], None] | None:
        """Record what the curves need from a new proposal: the model's minority share of the
        subpool now, and a job that computes the CV estimate of F1 (no test set) on a copy of
        the labelled set. Call holding the loop; run the job without it (it takes seconds)."""
        loop = self.loop
        model = getattr(loop, "model_", None)
        if model is not None and len(proposal.subpool_ids) and proposal.iteration not in self._subpool_share:
            features = loop.pool.features(loop.learner)
            proba = model.predict_proba(take(features, np.asarray(proposal.subpool_ids)))
            self._subpool_share[proposal.iteration] = predicted_minority_share(proba, loop.minority_indices)
        key = (proposal.iteration, proposal.labelled_count)
        if loop.test is not None or key in self._estimates:
            return None
        # the embedding classifier: a transformer per fold would take minutes
        learner = None if learner_reads_texts(loop.learner) else loop.learner
        X, y = np.array(loop.embeddings[loop.labelled_ids]), loop.labelled_classes.copy()
        minority, n_classes, names = set(loop.minority_indices), len(loop.classes), list(loop.classes)

        def estimate() -> None:
            self._estimates[key] = cross_validated_f1(
                X, y, minority, n_classes, learner=learner, seed=loop.seed, class_names=names
            )

        return estimate

    def update(self, proposal=None):
        """``(header, buffers)``: what changed since the last message (everything for the
        first), or None when the map is not ready or nothing changed. Call holding the loop."""
        if not self.projection.ready:
            return None
        start = time.perf_counter()
        state = map_state_from_loop(self.loop, self.projection, proposal)
        with self._lock:
            header, buffers = map_update_payload(
                self._previous, state, texts=self.loop.pool.texts, text_chars=TEXT_CHARS
            )
            self._previous = state
        if not header["full"] and not header["layers"] and "traces" not in header:
            return None
        self.update_seconds_.append(time.perf_counter() - start)
        self.update_bytes_.append(payload_bytes(header, buffers))
        return header, buffers

    def sync(self):
        """``(header, buffers)``: the whole map as last sent (``full``: true), for a view that
        opens later; None before the first update. Needs no loop."""
        with self._lock:
            state = self._previous
            if state is None:
                return None
            header, buffers = map_update_payload(None, state, texts=self.loop.pool.texts, text_chars=TEXT_CHARS)
        return header, buffers

    def texts_of(self, ids: Sequence[int]) -> dict:
        """``{"kind": "map_text", "texts": {id: text}}``: the whole texts of hovered or clicked
        points (the pool's texts are never sent all at once)."""
        texts = self.loop.pool.texts  # the same pool, and texts, across an encoder upgrade
        if texts is None:
            raise InputError("this pool has no texts to show")
        n = len(texts)
        bad = [i for i in ids if not 0 <= i < n]
        if bad:
            raise InputError(f"no text has id {bad[0]} (the pool has ids 0 to {n - 1})")
        return {"kind": "map_text", "texts": {str(i): str(texts[i]) for i in ids}}

    # ---- curves ------------------------------------------------------------------------

    def curves(self) -> dict:
        """The live curves as JSON: ``{"traces": [{uid, name, type, panel, x, y, ...}],
        "titles": [4 panel titles], "estimate": bool, "test": bool}`` (NaN as null). One point
        per finished iteration plus the batch on screen. Call holding the loop."""
        loop = self.loop
        rows = [
            self._row(
                r, r.iteration, r.labelled_count, r.minority_in_labelled, r.minority_in_subpool, r.seconds, r.test
            )
            for r in loop.history
        ]
        p = loop.pending
        if p is not None and p.iteration == len(loop.history):
            rows.append(self._row(p, p.iteration, p.labelled_count, p.minority_in_labelled, None, p.seconds, p.test))
        data = curve_data(rows, loop.classes, loop.minority)
        # labels per class in the labelled set each model was trained on (labelling order)
        order = loop.labelled_classes
        counts = {
            c: np.array([int((order[: r["labelled_count"]] == k).sum()) for r in rows], dtype=np.int64)
            for k, c in enumerate(loop.classes)
        }
        data = replace(data, counts=counts)
        traces = []
        for trace, row, col in curves_traces(data):
            out = {k: v for k, v in trace.items() if k not in ("x", "y")}
            out["panel"] = PANELS[(row, col)]
            out["x"] = [int(v) for v in np.asarray(trace["x"]).tolist()]
            out["y"] = [None if not np.isfinite(v) else round(float(v), 4) for v in np.asarray(trace["y"], float)]
            traces.append(out)
        estimate = bool(data.f1_estimated.any())
        counts_title = "Labels per class" + ("; rare items (estimate)" if self._rare else "")
        # the estimate is said in the title and by dashed lines named "(CV estimate)"
        f1_title = "F1 on the test set" if loop.test is not None else "F1: estimate, cross-validated"
        return {
            "traces": traces,
            "titles": ["Minority share", f1_title, "Waiting time per iteration (s)", counts_title],
            "estimate": estimate or loop.test is None,
            "test": loop.test is not None,
        }

    def _row(self, record, iteration, labelled_count, in_labelled, in_subpool, seconds, test) -> dict:
        extra: dict[str, Any] = {}
        if in_subpool is None and iteration in self._subpool_share:
            extra["minority_in_subpool_predicted"] = self._subpool_share[iteration]
        if not test and (iteration, labelled_count) in self._estimates:
            extra["f1_estimate"] = self._estimates[(iteration, labelled_count)]
        if iteration in self._rare:
            extra["rare_estimate"] = self._rare[iteration]
        return {
            "iteration": iteration,
            "labelled_count": labelled_count,
            "minority_in_labelled": in_labelled,
            "minority_in_subpool": in_subpool,
            "seconds": seconds,
            "test": test,
            "extra": extra,
        }

    def note_rare_estimate(self, iteration: int, estimate: dict) -> None:
        """The rare items left as estimated from the check samples while ``iteration``'s batch was
        the last (``found``, ``left``, ``low``, ``high``), drawn beside the labels per class. Call
        holding the loop."""
        self._rare[int(iteration)] = {k: float(estimate[k]) for k in ("found", "left", "low", "high")}

    # ---- what the curves computed, kept beside the label store (see session/notes.py) --------

    def curve_notes(self) -> dict:
        """The subpool's predicted minority share, the F1 estimates and the rare items' estimates,
        per iteration, as JSON: what the loop's history does not hold. Call holding the loop."""
        shares = {str(k): v for k, v in self._subpool_share.items()}
        estimates = [[i, n, e] for (i, n), e in self._estimates.items()]
        return {"subpool_share": shares, "estimates": estimates, "rare": {str(k): v for k, v in self._rare.items()}}

    def restore_curve_notes(self, notes: dict) -> None:
        """Take back :meth:`curve_notes` of an earlier session (a restarted kernel)."""
        self._subpool_share.update({int(k): float(v) for k, v in notes.get("subpool_share", {}).items()})
        self._estimates.update({(int(i), int(n)): e for i, n, e in notes.get("estimates", [])})
        self._rare.update({int(k): v for k, v in notes.get("rare", {}).items()})


class FitWatcher:
    """A thread that follows a map's fit: it tells the session when the map's status changes
    and once the map can be drawn, until the fit ends or :meth:`stop` is called."""

    def __init__(self, view: MapView) -> None:
        self._view = view
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, on_status: Callable[[], None], on_ready: Callable[[], None]) -> None:
        self._thread = threading.Thread(
            target=self._watch, args=(on_status, on_ready), name="anchoral-map-watcher", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _watch(self, on_status: Callable[[], None], on_ready: Callable[[], None]) -> None:
        last = None
        while not self._stop.is_set():
            status = self._view.status()
            if status != last:
                on_status()
                last = status
            if self._view.projection.status != "fitting":
                break
            self._stop.wait(POLL_SECONDS)
        if self._view.projection.ready and not self._stop.is_set():
            on_ready()
