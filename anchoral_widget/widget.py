"""The Labeller widget: synced traits and messages (declared in :mod:`.protocol`); the work is a session's."""

from pathlib import Path

import anywidget
import traitlets as t

from .protocol import TRAITS
from .session.startup import start_session

STATIC = Path(__file__).parent / "static"
HELP = {name: spec["help"] for name, spec in TRAITS.items()}


def _front_end(name: str) -> str:
    path = STATIC / name
    if not path.is_file():
        raise FileNotFoundError(
            f"the widget's front end is not built ({path} is missing): run "
            "`npm --prefix js ci && npm --prefix js run build`, or reinstall the package"
        )
    return path.read_text(encoding="utf-8")


class Labeller(anywidget.AnyWidget):
    """Label AnchorAL's batches in the notebook. Returns at once: the pool is encoded and indexed
    in the background, with progress on screen (``startup``), and labelling starts when it can.

    Parameters
    ----------
    texts : sequence of str
        The pool. Ids are positions in it.
    classes : sequence
        Class names, e.g. ``["other", "eye"]``. Keys 1-9 pick them in this order.
    minority : sequence, optional
        The rare classes (see :class:`~anchoral_widget.engine.loop.active.ActiveLoop`).
    map : bool, Projection or (n, 2) array
        The map of the pool and the live curves (default: UMAP, fitted in the background); False: none.
    **params
        ``embeddings``, ``encoder``, ``loop``, ``seed_labels``, ``budget`` and the loop's parameters
        (``batch_size``, ``store``, ``test``, ...): see :func:`~.session.startup.build_session`.
    """

    classes = t.List(t.Unicode(), help=HELP["classes"]).tag(sync=True)
    minority = t.List(t.Unicode(), help=HELP["minority"]).tag(sync=True)
    batch = t.List(t.Dict(), help=HELP["batch"]).tag(sync=True)
    answers = t.Dict(help=HELP["answers"]).tag(sync=True)
    iteration = t.Int(-1, help=HELP["iteration"]).tag(sync=True)
    phase = t.Unicode(help=HELP["phase"]).tag(sync=True)
    status = t.Unicode(help=HELP["status"]).tag(sync=True)
    seconds = t.Dict(help=HELP["seconds"]).tag(sync=True)
    progress = t.Dict(help=HELP["progress"]).tag(sync=True)
    search = t.Dict(help=HELP["search"]).tag(sync=True)
    error = t.Unicode("", help=HELP["error"]).tag(sync=True)
    map_status = t.Dict(help=HELP["map_status"]).tag(sync=True)
    curves = t.Dict(help=HELP["curves"]).tag(sync=True)
    startup = t.Dict(help=HELP["startup"]).tag(sync=True)

    def __init__(self, texts=None, classes=None, minority=None, *, map=True, **params):
        self._esm, self._css = _front_end("widget.js"), _front_end("widget.css")
        self._session = start_session(texts, classes, minority, map=map, **params)
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
            self._session.report(exc, content)

    labels = property(lambda self: self._session.labels, doc="A DataFrame of every stored label: id, text, label, …")
    review = property(lambda self: self._session.review, doc="Label check, check samples, the stopping report.")
    loop = property(lambda self: self._session.loop, doc="The ActiveLoop underneath (leave it to the widget).")
    correct = property(lambda self: self._session.review.correct, doc="correct(ids, label): past labels' new class.")
    agreement = property(lambda self: self._session.review.agreement, doc="agreement(): a team's kappas, conflicts.")
    store = property(lambda self: getattr(self.loop.store, "where", None), doc="The labels' file or URL, or None.")
    budget = property(
        lambda self: self._session.budget,
        lambda self, value: setattr(self._session, "budget", value),
        doc="How many labels to collect; set it higher to go on once it is reached.",
    )

    def close(self):
        """Close the widget's views and stop its worker thread."""
        if getattr(self, "_session", None) is not None:  # None when __init__ failed
            self._session.close()
        super().close()

    def wait(self, timeout=None) -> bool:
        """Block until the next batch is ready (or nothing is left to do); False on timeout."""
        return self._session.wait(timeout)
