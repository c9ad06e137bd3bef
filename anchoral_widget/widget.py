"""The Labeller widget: traits and message handling only; the work is in ``labeller.py``.

Trait names are the same in ``js/src`` (see the ``Model`` type in ``js/src/model.js``). Commands
from the front end are custom messages ``{kind, ...}``; see :data:`anchoral_widget.protocol.COMMANDS`. The map
goes the other way as custom messages with binary buffers (``map_update``, see ``mapview.py``).
"""

from __future__ import annotations

import logging
from pathlib import Path

import anywidget
import traitlets as t

from .session.prepare import build_session

STATIC = Path(__file__).parent / "static"
log = logging.getLogger(__name__)


def _front_end(name: str) -> str:
    path = STATIC / name
    if not path.is_file():
        raise FileNotFoundError(
            f"the widget's front end is not built ({path} is missing): run "
            "`npm --prefix js ci && npm --prefix js run build`, or reinstall the package"
        )
    return path.read_text(encoding="utf-8")


class Labeller(anywidget.AnyWidget):
    """Label AnchorAL's batches in the notebook.

    Parameters
    ----------
    texts : sequence of str
        The pool. Ids are positions in it.
    classes : sequence
        Class names, e.g. ``["other", "eye"]``. Keys 1-9 pick them in this order.
    minority : sequence, optional
        The rare classes (see :class:`~anchoral_widget.engine.loop.ActiveLoop`).
    embeddings : (n, d) array, optional
        Precomputed embeddings; by default the bundled encoder computes them (cached on disk).
    encoder : object with ``encode(texts)``, optional
        Encodes the pool (when no embeddings are given) and search queries. Defaults to the
        bundled encoder; pass the one that made precomputed ``embeddings`` so search matches.
    loop : ActiveLoop, optional
        An existing loop to go on with, instead of ``classes``/``embeddings``/loop parameters.
    seed_labels : mapping id -> class, optional
        Labels known before the first batch. Cold start: a class without any is found by search.
    budget : int, optional
        Stop proposing once this many texts are labelled.
    map : bool, Projection or (n, 2) array
        The 2-D map of the pool and the live curves (default True: UMAP fitted in the
        background and cached); a Projection or coordinates to place items (the toy data's);
        False: none.
    **loop_params
        ``batch_size``, ``pool_filter``, ``strategy``, ``learner``, ``seed``, ... of ActiveLoop;
        ``store=``: the SQLite file that keeps every label and resumes after a restart; by
        default ``anchoral-labels-<pool>.db`` in the working folder; ``None`` for memory only.
        ``test=(texts or embeddings, classes)``: a held-out set for the F1 curves (without
        one they show a cross-validated estimate); ``cache_dir=``: the map's cache too.
    """

    classes = t.List(t.Unicode(), help="Class names, as the buttons show them.").tag(sync=True)
    minority = t.List(t.Unicode(), help="The rare classes.").tag(sync=True)
    batch = t.List(
        t.Dict(),
        help="Cards of the batch on screen: id, text, predicted, "
        "confidence, proba, score, anchor {id, text, label, similarity}.",
    ).tag(sync=True)
    answers = t.Dict(
        help="Drafts for the batch on screen: str(id) -> class, or None for skipped. Stored in the loop on submit."
    ).tag(sync=True)
    iteration = t.Int(-1, help="The loop iteration of the batch on screen.").tag(sync=True)
    phase = t.Unicode(help="starting, cold, training, selecting, ready, done or error.").tag(sync=True)
    status = t.Unicode(help="The status line, with the seconds the last batch took.").tag(sync=True)
    seconds = t.Dict(help="Seconds the last batch took: train, select, total.").tag(sync=True)
    progress = t.Dict(help="labelled, skipped, budget, pool, counts per class, missing classes, iteration.").tag(
        sync=True
    )
    search = t.Dict(
        help="The last search: query, busy, results [{id, text, similarity, label, skipped}], seconds."
    ).tag(sync=True)
    error = t.Unicode("", help="The last error, shown under the widget; '' for none.").tag(sync=True)
    map_status = t.Dict(
        help="The map: status (off, idle, fitting, ready, error), fraction, text for the status line ('' once drawn)."
    ).tag(sync=True)
    curves = t.Dict(help="Live curves: traces [{uid, name, panel, x, y, ...}], titles, estimate, test.").tag(sync=True)

    def __init__(
        self,
        texts=None,
        classes=None,
        minority=None,
        *,
        embeddings=None,
        encoder=None,
        loop=None,
        seed_labels=None,
        budget=None,
        map=True,
        **loop_params,
    ):
        self._esm, self._css = _front_end("widget.js"), _front_end("widget.css")
        self._session = build_session(
            texts,
            classes,
            minority,
            embeddings=embeddings,
            encoder=encoder,
            loop=loop,
            seed_labels=seed_labels,
            budget=budget,
            map=map,
            **loop_params,
        )
        super().__init__(**self._session.snapshot())
        self._session.on_change(self._changed)
        self._session.on_map(lambda header, buffers: self.send(header, buffers))
        self.on_msg(self._on_msg)
        self._session.start()

    def _changed(self, changes: dict) -> None:
        with self.hold_sync():
            for name, value in changes.items():
                setattr(self, name, value)

    def _on_msg(self, _widget, content, _buffers) -> None:
        try:
            self._session.handle(content)
        except Exception as exc:  # every failure is shown under the widget, none only logged
            if not isinstance(exc, ValueError):
                log.exception("command %r failed", content)
            self._session.report(exc)

    @property
    def labels(self):
        """A DataFrame of every stored label: id, text, label, iteration, time."""
        return self._session.labels

    @property
    def loop(self):
        """The :class:`~anchoral_widget.engine.loop.ActiveLoop` underneath (leave it to the widget)."""
        return self._session.loop

    @property
    def store(self):
        """The SQLite file that keeps the labels (None when they are kept in memory only)."""
        store = self._session.loop.store
        return None if store is None else store.path

    @property
    def budget(self):
        """How many labels to collect; set it higher to go on after it is reached."""
        return self._session.budget

    @budget.setter
    def budget(self, value):
        self._session.budget = value

    def close(self):
        """Close the widget's views and stop its worker thread."""
        if getattr(self, "_session", None) is not None:  # None when __init__ failed
            self._session.close()
        super().close()

    def wait(self, timeout=None) -> bool:
        """Block until the next batch is ready (or nothing is left to do); False on timeout."""
        return self._session.wait(timeout)
