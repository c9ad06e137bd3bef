"""Starting a labelling session, in the order it happens: checks made at once -> the loop built
(at once, or in the background with progress) -> the session -> what follows behind the person.

1. :func:`start_session` (what ``Labeller(...)`` calls) checks every argument at once
   (:func:`~.plan.plan_session`: types, classes, budget, keyword names, seed labels; a mistake
   raises before anything slow starts) and returns a :class:`~.labeller.LabelSession` in phase
   ``preparing``, with a :class:`Startup`. :func:`build_session` checks the same way, then
   builds the loop at once and returns a session that has it.
2. From :meth:`~.labeller.LabelSession.start` on, the session's worker runs :meth:`Startup.run`
   (again on Retry): :func:`make_loop` turns texts into embeddings (the encoder's cache makes an
   interrupted encode resume at its last chunk), a pool, a label store, a loop, seed labels and
   the map, reporting its progress to the session's ``startup`` field (:mod:`.progress`).
3. The session takes the loop and starts labelling (search for a cold start, then batches).
4. :meth:`Startup.background`, handed the session's :class:`~.access.SessionAccess`: the vector
   index is built on a thread of its own with every core while exact search answers the anchors'
   queries; the loop switches to it between two batches
   (:meth:`~anchoral_widget.engine.pool.Pool.start_index_build`). Then the encoder upgrade, if
   any (:mod:`.upgrade`). A session that starts with a label of every class holds its first batch
   until the upgrade has moved the loop to the labels' neighbourhoods (:func:`holds_first_batch`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..engine.loop.active import ActiveLoop
from ..engine.pool import Pool, PoolSwapped
from ..errors import AnchorALError, InputError
from .access import SessionAccess
from .encoding import default_encoder, encode_pool, usable_cores
from .guarded import give_texts
from .labeller import LabelSession
from .plan import Plan, checked_texts, plan_session
from .progress import Progress
from .storepath import default_store
from .upgrade_plan import encodes_uncached


def start_session(texts, classes=None, minority=None, **params) -> LabelSession:
    """A :class:`~.labeller.LabelSession` that makes its loop in the background once started.

    Takes the arguments of :func:`build_session` and checks them all at once; the
    slow part (encoding, hashing, the store, the index) runs on the session's worker from
    :meth:`~.labeller.LabelSession.start` on, its progress in ``snapshot()["startup"]``.
    """
    plan = plan_session(texts, classes, minority, **params)
    return LabelSession(
        plan.texts,
        None,
        classes=plan.class_names,
        encoder=plan.encoder,
        budget=plan.budget,
        training=plan.training,
        startup=Startup(plan),
    )


def build_session(
    texts: Sequence[str] | None,
    classes: Sequence | None = None,
    minority: Sequence | None = None,
    *,
    embeddings: np.ndarray | None = None,
    encoder=None,
    loop: ActiveLoop | None = None,
    seed_labels: Mapping | pd.Series | None = None,
    budget: int | None = None,
    map=False,
    training: str = "auto",
    **loop_params,
) -> LabelSession:
    """Make the encoder, the embeddings, the loop and the map a :class:`LabelSession` needs.

    Parameters
    ----------
    texts : sequence of str
        The pool. Ids are positions in it.
    classes : sequence
        Class names, e.g. ``["other", "eye"]``. Keys 1-9 pick them in this order.
    minority : sequence, optional
        The rare classes (see :class:`~anchoral_widget.engine.loop.active.ActiveLoop`).
    embeddings : (n, d) array, optional
        Precomputed embeddings; by default the encoder computes them (cached on disk).
    encoder : name, folder or object with ``encode(texts)``, optional
        Encodes the pool (when no embeddings are given) and search queries: ``"fast"``,
        ``"minilm"``, ... (see :mod:`~anchoral_widget.engine.vectors.encoder_kinds`; default
        :data:`~anchoral_widget.engine.vectors.encoder_kinds.DEFAULT_ENCODER`), a local model folder, or any
        object with ``encode``. Pass the one that made precomputed ``embeddings`` so search matches.
    loop : ActiveLoop, optional
        An existing loop to go on with, instead of ``classes``/``embeddings``/loop parameters.
    seed_labels : mapping id -> class, optional
        Labels known before the first batch. Cold start: a class without any is found by search.
    budget : int, optional
        Stop proposing once this many texts are labelled.
    map : bool, Projection or (n, 2) array
        The 2-D map of the pool and the live curves: True for UMAP fitted in the background and
        cached (the widget's default); a Projection or coordinates to place items (the toy
        data's); False (the default here): none.
    training : {"auto", "ahead", "strict"}
        After a submit, wait for the model fitted on every label (``"strict"``, the paper's), or
        propose at once with the latest model that finished while the next fit runs in the
        background (``"ahead"``). ``"auto"``: ahead for a learner that reads text (a fine-tuned
        transformer), strict for one fitted on embeddings in milliseconds.
    **loop_params
        ``batch_size``, ``pool_filter``, ``strategy``, ``learner``, ``seed``, ... of ActiveLoop;
        ``store=``: the SQLite file that keeps every label and resumes after a restart; by
        default in ``anchoral-labels/`` in the working folder (:mod:`.storepath`); ``None``: memory only.
        ``test=(texts or embeddings, classes)``: a held-out set for the F1 curves (without
        one they show a cross-validated estimate); ``cache_dir=``: the map's cache too.
        An unknown name raises :class:`TypeError` before anything is computed.
    """
    if "upgrade" in loop_params:
        raise TypeError("upgrade= encodes in the background: it needs a session that starts there (Labeller)")
    plan = plan_session(
        texts,
        classes,
        minority,
        embeddings=embeddings,
        encoder=encoder,
        loop=loop,
        seed_labels=seed_labels,
        budget=budget,
        map=map,
        training=training,
        upgrade=None,  # no background work here: see start_session
        **loop_params,
    )
    loop, encoder, view = make_loop(plan)
    return LabelSession(plan.texts, loop, encoder=encoder, budget=plan.budget, map=view, training=plan.training)


class Startup:
    """The slow part of starting a session, run on its worker (again on Retry), and what follows
    it behind the person labelling.

    Parameters
    ----------
    plan : Plan
        The checked arguments (:func:`~.plan.plan_session`).
    index_threads : int, optional
        Threads for the background index build; default every core this process may use.
    """

    def __init__(self, plan: Plan, *, index_threads: int | None = None):
        self.plan = plan
        self.index_threads = index_threads or usable_cores()
        self._progress: Progress | None = None
        self.holding = False  # the first batch is held for the upgrade's move, not proposed yet
        self._held_until = 0.0

    def run(self, show: Callable[[dict], None]):
        """Make ``(loop, encoder, map view)``, telling ``show(startup)`` how far it is."""
        progress = self._progress = Progress(show)
        progress("starting", None, None)
        try:
            loop, encoder, view = make_loop(self.plan, progress)
        except Exception as exc:
            if progress.stage == "encoding":
                caches = getattr(self.plan.encoder, "cache_dir", False) is not False
                raise AnchorALError(progress.encode_failed(exc, caches)) from exc
            raise
        upgrade = self.plan.upgrade
        if upgrade is not None:
            progress.embeddings = upgrade.name if upgrade.done else upgrade.first
        no_build = loop.pool.index_ready or loop.pool.index_kind == "exact"  # else the upgrade waits for it
        self.holding = upgrade is not None and no_build and holds_first_batch(upgrade, loop)
        # a hold that never started (the session closed first) keeps no one waiting past its time
        self._held_until = time.monotonic() + (upgrade.head_start + 10 if upgrade is not None else 0)
        progress("ready", None, None)
        return loop, encoder, view

    def released(self, end: float | None = None) -> bool:
        """Wait while the first batch is held for the upgrade's move (until it is proposed); False
        if ``end`` (on the monotonic clock) comes first."""
        while self.holding and time.monotonic() < self._held_until:
            if end is not None and time.monotonic() >= end:
                return False
            time.sleep(0.02)
        return True

    def background(self, session: SessionAccess, first_batch: Callable[[], object] = lambda: None) -> None:
        """What follows :meth:`run` once the session has its loop, behind the person labelling:
        the pool's vector index built with every core (unless it is there or is exact search:
        nothing to build), ``first_batch()`` (at once, or once the upgrade has moved:
        :func:`holds_first_batch`), then the encoder upgrade (:mod:`.upgrade`) on one thread. Their
        progress goes to the session's ``startup`` field, a failure to its error line (exact
        search, or the first embeddings, go on serving)."""
        progress, upgrade, held = self._progress, self.plan.upgrade, self.holding
        with session.held() as loop:
            assert progress is not None and loop is not None  # both made by run()
            pool = loop.pool  # the same pool after an upgrade's switch: its next index is built on it
        building = self._build_index(pool, progress, session.report)
        if not held:
            first_batch()
        if upgrade is None or upgrade.failed:
            return
        if upgrade.done:  # a restart found the upgraded embeddings cached
            session.show_embeddings(f"{upgrade.name} embeddings")
            return
        progress.upgrading = upgrade.name
        progress.holding = held
        moved = threading.Event()
        upgrade.start(
            session,
            progress,
            after=building,
            on_switched=lambda: self._build_index(pool, progress, session.report),
            on_moved=moved.set,
        )
        if held:
            assert upgrade is not None

            def after_the_move() -> None:
                moved.wait(upgrade.head_start)
                progress.hold(False)
                try:
                    if not session.closed:
                        first_batch()
                finally:
                    self.holding = False  # once the proposal is queued: wait() then waits for it

            threading.Thread(target=after_the_move, name="anchoral-first-batch", daemon=True).start()

    def _build_index(
        self, pool: Pool, progress: Progress, on_error: Callable[[BaseException], None]
    ) -> threading.Thread | None:
        if pool.index_ready or pool.index_kind == "exact":
            return None

        def done(result: object) -> None:
            if isinstance(result, PoolSwapped):
                return  # the embeddings moved on: their own index is built next
            if isinstance(result, BaseException):
                on_error(AnchorALError(f"the vector index could not be built ({result}); exact search goes on"))
            if progress.stage == "index":  # an exact index reports nothing: nothing to clear
                progress("ready", None, None)

        return pool.start_index_build(
            done, num_threads=self.index_threads, progress=lambda n, total: progress("index", n, total)
        )


def holds_first_batch(upgrade: Any, loop: ActiveLoop) -> bool:
    """Whether a session starting with ``loop`` holds its first batch for the upgrade's move to
    the labels' neighbourhoods, up to ``upgrade.head_start`` seconds: it can move at once (a label
    of every class) and encodes the labels' neighbourhoods first. Replayed on the whole pools (10
    seeds, 1,000 labels, 10 s and 30 s a batch on one core; ``near_labels_head`` in
    benchmarks/RESULTS.md), a first batch proposed on MiniLM's vectors of ~580 texts around the
    paper's initial set instead of on ``fast`` found 12.0 and 6.2 more rare items on tweets at 1%
    (p=0.048, 0.063), raised the minority-F1 AUC on icd10-eye at 1% by 0.30 and 0.31 (p<0.02),
    and changed nothing significant at 0.1%."""
    every_class = set(loop.classes) <= set(loop.labels.values())
    if upgrade.head_start <= 0 or not upgrade.neighbours or upgrade.done or upgrade.failed or not every_class:
        return False
    return bool(encodes_uncached(upgrade.encoder))


#: ``report(stage, done, total)``: how far the slow part is (``done``/``total`` None when unknown).
Report = Callable[[str, "int | None", "int | None"], None]


def make_loop(plan: Plan, report: Report | None = None):
    """The slow part: ``(loop, encoder, map view)`` of a checked plan. Encodes the pool (when
    no embeddings or loop were given), hashes it, opens its label store and stores the seed
    labels; ``report(stage, done, total)`` hears how far it is (stages ``building`` when the encoder's
    model is built first, ``encoding``, ``pool``, ``store``, ``map``)."""
    report = report or (lambda stage, done, total: None)
    texts, encoder, loop = plan.texts, plan.encoder, plan.loop
    params = dict(plan.loop_params)
    if loop is None:
        embeddings = plan.embeddings
        if embeddings is None:
            if getattr(encoder, "needs_build", False):
                report("building", None, None)
            report("encoding", None, len(texts))
            embeddings = encode_pool(encoder, texts, lambda done, total: report("encoding", done, total))
            report("encoding", len(texts), len(texts))
            upgraded = None if plan.upgrade is None else plan.upgrade.cached(texts)
            if plan.upgrade is not None and upgraded is not None:  # upgraded before a restart
                report("pool", None, None)
                # the store is named and keyed after the pool on its first embeddings
                params.setdefault("fingerprint", Pool(embeddings, texts).fingerprint)
                embeddings, encoder, plan.upgrade.done = upgraded, plan.upgrade.encoder, True
        elif encoder is None:
            encoder = default_encoder(len(np.asarray(embeddings)[0]))
        _encode_test(params, encoder)
        report("pool", None, None)
        pool = Pool(
            embeddings,
            texts,
            index=params.pop("index", "auto"),
            seed=params.get("seed", 0),
            cache_dir=params.pop("cache_dir", None),
            fingerprint=params.pop("fingerprint", None),
        )
        _default_store(params, pool, plan.minority or [])
        report("store", None, None)
        assert plan.classes is not None  # build_session needs classes when no loop is given
        loop = ActiveLoop(pool, plan.classes, plan.minority, **params)
    else:
        give_texts(loop, texts)
        if encoder is None:
            encoder = default_encoder(loop.embeddings.shape[1])
    if plan.seed_pairs:
        # labels already in the loop (a loop=, or one resumed from its store) are not given twice
        stored = loop.labels
        for i, c in plan.seed_pairs:
            if i in stored and stored[i] != c:
                raise InputError(f"seed label {c!r} for text {i} differs from its stored label {stored[i]!r}")
        pairs = [(i, c) for i, c in plan.seed_pairs if i not in stored]
        if pairs:
            loop.label([i for i, _ in pairs], [c for _, c in pairs])
    view = None
    if plan.map is not False and plan.map is not None:
        from ..views.mapview import MapView

        report("map", None, None)
        projection = None if plan.map is True else plan.map
        view = MapView(loop, projection=projection, cache_dir=loop.pool.cache_dir)
    return loop, encoder, view


def _encode_test(loop_params: dict, encoder) -> None:
    """``test=(texts, labels)``: the held-out texts are encoded like the pool (the curves show
    F1 on them); ``test=(embeddings, labels)`` is passed on as it is."""
    test = loop_params.get("test")
    if test is None:
        return
    if not isinstance(test, (tuple, list)) or len(test) != 2:
        raise InputError("test must be a pair (X_test, y_test): texts or embeddings, and their classes")
    X, y = test
    if not isinstance(X, np.ndarray) and len(X) and all(isinstance(x, str) for x in X):
        if encoder is None:
            raise InputError("test texts need an encoder: pass encoder= or test embeddings")
        X = np.asarray(encoder.encode(checked_texts(X)), dtype=np.float32)
    if len(X) != len(y):
        raise InputError(f"the test set has {len(X)} items but {len(y)} labels")
    loop_params["test"] = (X, list(y))


def _default_store(loop_params: dict, pool: Pool, minority: Sequence[object]) -> None:
    """Unless told otherwise, keep the labels in a SQLite file under the working folder (the
    notebook's, see :mod:`.storepath`), so that a user who never asked still keeps them.
    ``store=None`` or ``store=False`` keeps labels in memory only."""
    if "store" in loop_params:
        if loop_params["store"] in (None, False):
            del loop_params["store"]
        return
    loop_params["store"] = default_store(Path.cwd(), pool.fingerprint, len(pool.embeddings), minority)
