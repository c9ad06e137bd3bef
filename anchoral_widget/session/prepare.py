"""Building a labelling session from what a user has: texts, classes, maybe embeddings, an
encoder, a loop, seed labels. Computes what is missing (embeddings with the bundled encoder, a
label store named after the pool, the map) and checks everything before anything is written."""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..engine.loop import ActiveLoop
from ..engine.pool import Pool
from ..errors import InputError
from .labeller import LabelSession, check_budget
from .trainer import TRAINING

DEFAULT_DIM = 384  # all-MiniLM-L6-v2, the bundled encoder: known without loading it


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
    if budget is not None and budget > len(texts):
        raise InputError(f"budget {budget} is larger than the pool ({len(texts)} texts)")
    if loop is None:
        if classes is None:
            raise InputError("classes are needed, e.g. classes=['other', 'eye']")
        names = [str(c) for c in classes]
        if len(set(names)) != len(names):
            raise InputError(f"class names must differ as text, got {names}")
        if embeddings is None:
            if encoder is None:
                encoder = _default_encoder()
            embeddings = encoder.encode(texts)
        elif encoder is None:
            encoder = _default_encoder(len(np.asarray(embeddings)[0]))
        _encode_test(loop_params, encoder)
        pool = Pool(
            embeddings,
            loop_params.pop("texts", texts),
            index=loop_params.pop("index", "auto"),
            seed=loop_params.get("seed", 0),
            cache_dir=loop_params.pop("cache_dir", None),
            fingerprint=loop_params.pop("fingerprint", None),
        )
        _default_store(loop_params, pool)
        loop = ActiveLoop(pool, classes, minority, **loop_params)
    elif encoder is None:
        encoder = _default_encoder(loop.embeddings.shape[1])
    if seed_labels is not None:
        items = seed_labels.items() if hasattr(seed_labels, "items") else seed_labels
        pairs = [(int(i), c) for i, c in items]
        # labels already in the loop (a loop=, or one resumed from its store) are not given twice
        stored = loop.labels
        for i, c in pairs:
            if i in stored and stored[i] != c:
                raise InputError(f"seed label {c!r} for text {i} differs from its stored label {stored[i]!r}")
        pairs = [(i, c) for i, c in pairs if i not in stored]
        if pairs:
            loop.label([i for i, _ in pairs], [c for _, c in pairs])
    view = None
    if map is not False and map is not None:
        from ..views.mapview import MapView

        view = MapView(loop, texts, projection=None if map is True else map, cache_dir=loop.pool.cache_dir)
    return LabelSession(texts, loop, encoder=encoder, budget=budget, map=view, training=training)


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


def _default_store(loop_params: dict, pool: Pool) -> None:
    """Unless told otherwise, keep the labels in a SQLite file in the working folder (the
    notebook's), named after the pool, so that a user who never asked still keeps them.
    ``store=None`` or ``store=False`` keeps labels in memory only."""
    if "store" in loop_params:
        if loop_params["store"] in (None, False):
            del loop_params["store"]
        return
    loop_params["store"] = Path.cwd() / f"anchoral-labels-{pool.fingerprint[:12]}.db"


def _default_encoder(dim: int | None = None):
    """The bundled encoder. For precomputed embeddings only when the sizes match (and None
    otherwise), so that search never compares vectors from two different models."""
    if dim is not None and dim != DEFAULT_DIM:
        return None
    from ..engine.embed import Encoder

    try:
        return Encoder()
    except InputError:
        if dim is None:
            raise
        return None  # the bundled model is not installed: no search, the rest works


def _checked_texts(texts) -> list[str]:
    """Strings, none empty; duplicates are allowed (a pool may repeat itself) but reported."""
    import warnings

    from ..engine.embed import check_texts

    texts = check_texts(texts)
    repeats = len(texts) - len(set(texts))
    if repeats:
        warnings.warn(f"{repeats} texts repeat an earlier one; each copy is labelled on its own", stacklevel=4)
    return texts
