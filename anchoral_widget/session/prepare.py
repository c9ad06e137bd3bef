"""Building a labelling session from what a user has: texts, classes, maybe embeddings, an
encoder, a loop, seed labels. Computes what is missing (embeddings with the bundled encoder, a
label store named after the pool, the map) and checks everything before anything is written.

In two steps, so that a widget can return at once (see :mod:`.startup`): :func:`plan_session`
checks every argument (cheap: types, classes, budget, keyword names, seed labels) and raises at
once; :func:`make_loop` does the slow part (encoding, hashing the pool, opening the store,
seeding). :func:`build_session` does both, then makes the session.
"""

from __future__ import annotations

import inspect
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..engine.loop import ActiveLoop
from ..engine.pool import Pool
from ..errors import InputError
from .guarded import give_texts
from .labeller import LabelSession
from .screen import check_budget
from .trainer import TRAINING
from .upgrade import Upgrade
from .upgrade_plan import embeddings_name, plan_upgrade

#: ``report(stage, done, total)``: how far the slow part is (``done``/``total`` None when unknown).
Report = Callable[[str, "int | None", "int | None"], None]


@dataclass
class Plan:
    """Everything :func:`make_loop` needs, checked."""

    texts: list[str]
    class_names: list[str]
    classes: Sequence | None = None
    minority: Sequence | None = None
    embeddings: Any = None
    encoder: Any = None
    loop: ActiveLoop | None = None
    seed_pairs: list[tuple[int, Any]] = field(default_factory=list)
    budget: int | None = None
    map: Any = False
    training: str = "auto"
    loop_params: dict = field(default_factory=dict)
    upgrade: Upgrade | None = None


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
        The rare classes (see :class:`~anchoral_widget.engine.loop.ActiveLoop`).
    embeddings : (n, d) array, optional
        Precomputed embeddings; by default the encoder computes them (cached on disk).
    encoder : name, folder or object with ``encode(texts)``, optional
        Encodes the pool (when no embeddings are given) and search queries: ``"fast"``,
        ``"minilm"``, ... (see :mod:`~anchoral_widget.engine.encoders`; default
        :data:`~anchoral_widget.engine.encoders.DEFAULT_ENCODER`), a local model folder, or any
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
        default ``anchoral-labels-<pool>.db`` in the working folder; ``None`` for memory only.
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


def plan_session(
    texts,
    classes=None,
    minority=None,
    *,
    embeddings=None,
    encoder=None,
    loop=None,
    seed_labels=None,
    budget=None,
    map=False,
    training="auto",
    upgrade="auto",
    **loop_params,
) -> Plan:
    """Check the arguments of :func:`build_session` (raising at once, before anything slow).

    ``upgrade``: a better encoder that encodes the pool again in the background, the session
    moving to its embeddings between two batches once done (see :mod:`.upgrade`): a name, a
    folder or an object with ``encode``; ``"auto"`` (the default): MiniLM's vectors (``onnx``)
    when the session encodes the pool with the bundled ``fast`` encoder; ``None``: none."""
    _check_loop_params(loop_params)
    if loop is not None:
        given = [
            name
            for name, v in (("classes", classes), ("minority", minority), ("embeddings", embeddings))
            if v is not None
        ]
        if given or loop_params:
            raise TypeError(f"pass either loop= or the loop's parameters, not both (got {given + list(loop_params)})")
        if texts is None:
            texts = loop.texts
    if texts is None:
        raise InputError("texts are needed: the cards show them")
    texts = _checked_texts(texts)
    budget = check_budget(budget)  # before anything is built or written
    if training not in TRAINING:
        raise InputError(f"unknown training {training!r}; choose from {', '.join(TRAINING)}")
    if encoder is not None:
        encoder = session_encoder(encoder)
    if budget is not None and budget > len(texts):
        raise InputError(f"budget {budget} is larger than the pool ({len(texts)} texts)")
    if loop is not None:
        class_list = list(loop.classes)
        n_rows = len(loop.embeddings)
    else:
        if classes is None:
            raise InputError("classes are needed, e.g. classes=['other', 'eye']")
        class_list = [c.item() if isinstance(c, np.generic) else c for c in classes]
        n_rows = len(texts) if embeddings is None else len(embeddings)
        if embeddings is None:
            if encoder is None:
                encoder = session_encoder(None)  # cheap: the model loads when the pool is encoded
            _warn_odd_pools(texts, getattr(encoder, "name", type(encoder).__name__))
    names = [str(c) for c in class_list]
    if len(set(names)) != len(names):
        raise InputError(f"class names must differ as text, got {names}")
    if n_rows != len(texts):
        raise InputError(f"{len(texts)} texts but {n_rows} embeddings")
    if map is not False and map is not None and map is not True and not hasattr(map, "embeddings"):
        coords = np.asarray(map)
        if coords.shape != (len(texts), 2):
            raise InputError(f"map coordinates must have shape ({len(texts)}, 2), got {coords.shape}")
    upgrade_encoder = plan_upgrade(upgrade, encoder, encodes_pool=loop is None and embeddings is None)
    return Plan(
        upgrade=None
        if upgrade_encoder is None
        else Upgrade(upgrade_encoder, test_texts=_test_texts(loop_params), first=embeddings_name(encoder)),
        texts=texts,
        class_names=names,
        classes=classes,
        minority=minority,
        embeddings=embeddings,
        encoder=encoder,
        loop=loop,
        seed_pairs=_seed_pairs(seed_labels, class_list, len(texts)),
        budget=budget,
        map=map,
        training=training,
        loop_params=loop_params,
    )


def make_loop(plan: Plan, report: Report | None = None):
    """The slow part: ``(loop, encoder, map view)`` of a checked plan. Encodes the pool (when
    no embeddings or loop were given), hashes it, opens its label store and stores the seed
    labels; ``report(stage, done, total)`` hears how far it is (stages ``encoding``, ``pool``,
    ``store``, ``map``)."""
    report = report or (lambda stage, done, total: None)
    texts, encoder, loop = plan.texts, plan.encoder, plan.loop
    params = dict(plan.loop_params)
    if loop is None:
        embeddings = plan.embeddings
        if embeddings is None:
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
            encoder = _default_encoder(len(np.asarray(embeddings)[0]))
        _encode_test(params, encoder)
        report("pool", None, None)
        pool = Pool(
            embeddings,
            params.pop("texts", texts),
            index=params.pop("index", "auto"),
            seed=params.get("seed", 0),
            cache_dir=params.pop("cache_dir", None),
            fingerprint=params.pop("fingerprint", None),
        )
        _default_store(params, pool)
        report("store", None, None)
        assert plan.classes is not None  # build_session needs classes when no loop is given
        loop = ActiveLoop(pool, plan.classes, plan.minority, **params)
    else:
        give_texts(loop, texts)
        if encoder is None:
            encoder = _default_encoder(loop.embeddings.shape[1])
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


def session_encoder(spec):
    """``encoder=`` as an object: a name or a folder (None: the default) made by the engine,
    without a progress bar (the session shows its own progress); an object with ``encode`` as
    it is. Anything else is an InputError, at once."""
    from ..engine.embed import make_encoder

    if spec is None or isinstance(spec, (str, os.PathLike)):
        return make_encoder(spec, progress=False)
    return make_encoder(spec)


def encode_pool(encoder, texts: Sequence[str], on_progress: Callable[[int, int], None]) -> np.ndarray:
    """The pool's embeddings. An encoder that can say how far it is (``on_progress=``) is told
    to, and one that can leave its cached result on disk (``mmap=``) does, so a large pool is
    not held in memory twice (both as the bundled encoders do); any other is called as
    ``encode(texts)``."""
    try:
        accepts = set(inspect.signature(encoder.encode).parameters)
    except (TypeError, ValueError):
        accepts = set()
    options = {"on_progress": on_progress, "mmap": True}
    return encoder.encode(texts, **{k: v for k, v in options.items() if k in accepts})


def _seed_pairs(seed_labels, classes: list, n: int) -> list[tuple[int, Any]]:
    """``(id, class)`` of each seed label, ids in the pool and classes among ``classes``."""
    if seed_labels is None:
        return []
    items = seed_labels.items() if hasattr(seed_labels, "items") else seed_labels
    pairs = []
    for i, c in items:
        c = c.item() if isinstance(c, np.generic) else c
        try:
            item = int(i)
        except (TypeError, ValueError):
            item = -1
        if not 0 <= item < n:
            raise InputError(f"seed label for {i!r}: ids are positions in the pool, 0 to {n - 1}")
        if c not in classes:
            raise InputError(f"seed label {c!r} is not among the classes {classes}")
        pairs.append((item, c))
    return pairs


def _check_loop_params(loop_params: dict) -> None:
    """A misspelt keyword is a TypeError at once, before the pool is encoded (minutes)."""
    params = inspect.signature(ActiveLoop).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return
    known = sorted(p.name for p in params if p.kind is p.KEYWORD_ONLY)
    unknown = [name for name in loop_params if name not in known]
    if unknown:
        raise TypeError(f"unknown argument {unknown[0]!r}; the loop takes {', '.join(known)}")


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
        X = np.asarray(encoder.encode(_checked_texts(X)), dtype=np.float32)
    if len(X) != len(y):
        raise InputError(f"the test set has {len(X)} items but {len(y)} labels")
    loop_params["test"] = (X, list(y))


def _test_texts(loop_params: dict) -> list[str] | None:
    """The held-out texts of ``test=(texts, classes)``, or None (no test, or embeddings)."""
    test = loop_params.get("test")
    if not isinstance(test, (tuple, list)) or len(test) != 2 or isinstance(test[0], np.ndarray):
        return None
    X = test[0]
    return list(X) if len(X) and all(isinstance(x, str) for x in X) else None


def _default_store(loop_params: dict, pool: Pool) -> None:
    """Unless told otherwise, keep the labels in a SQLite file in the working folder (the
    notebook's), named after the pool, so that a user who never asked still keeps them.
    ``store=None`` or ``store=False`` keeps labels in memory only."""
    if "store" in loop_params:
        if loop_params["store"] in (None, False):
            del loop_params["store"]
        return
    loop_params["store"] = Path.cwd() / f"anchoral-labels-{pool.fingerprint[:12]}.db"


def _default_encoder(dim: int):
    """For precomputed embeddings, the named encoder of their size (the default first), or None,
    so that search never compares vectors of two sizes; None too when it is not installed."""
    from ..engine.encoders import DEFAULT_ENCODER, NAMES

    names = [DEFAULT_ENCODER, *NAMES]
    name = next((n for n in names if NAMES[n][1] == dim), None)
    if name is None:
        return None
    try:
        return session_encoder(name)
    except InputError:
        return None  # the bundled model is not installed: no search, the rest works


def _checked_texts(texts) -> list[str]:
    """Strings, none empty; duplicates are allowed (a pool may repeat itself) but reported."""
    from ..engine.texts import check_texts

    texts = check_texts(texts)
    distinct = len(set(texts))
    if 1 < distinct < len(texts):  # one text repeated throughout is the encoder's warning
        warnings.warn(
            f"{len(texts) - distinct} texts repeat an earlier one; each copy is labelled on its own", stacklevel=5
        )
    return texts


def _warn_odd_pools(texts: list[str], name: str) -> None:
    """The encoder's warnings about a pool (texts too long to read whole, one text repeated),
    at once rather than from the thread that encodes it."""
    from ..engine.texts import warn_odd_pools

    warn_odd_pools(texts, name)
