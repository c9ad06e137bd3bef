"""The first step of starting a session: every argument checked at once, before anything slow.

:func:`plan_session` takes what a user has (texts, classes, maybe embeddings, an encoder, a loop,
seed labels, the loop's parameters) and checks it all, cheaply: types, classes, budget, keyword
names, seed labels, the map's coordinates, which encoder upgrades the pool. A mistake raises
here, before anything is encoded or written; what comes out is a :class:`Plan`, which
:mod:`.startup` turns into a loop and a session (at once, or in the background).
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..engine.loop.active import ActiveLoop
from ..errors import InputError
from .encoding import session_encoder
from .screen import check_budget
from .trainer import TRAINING
from .upgrade import Upgrade
from .upgrade_plan import embeddings_name, plan_upgrade


@dataclass
class Plan:
    """A session's arguments, checked: everything :func:`~.startup.make_loop` needs."""

    texts: list[str]  # what the pool is made of: the pool holds them from then on
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
    """Check the arguments of :func:`~.startup.build_session` (raising at once, before anything slow).

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
    texts = checked_texts(texts)
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


def _test_texts(loop_params: dict) -> list[str] | None:
    """The held-out texts of ``test=(texts, classes)``, or None (no test, or embeddings)."""
    test = loop_params.get("test")
    if not isinstance(test, (tuple, list)) or len(test) != 2 or isinstance(test[0], np.ndarray):
        return None
    X = test[0]
    return list(X) if len(X) and all(isinstance(x, str) for x in X) else None


def checked_texts(texts) -> list[str]:
    """Strings, none empty; duplicates are allowed (a pool may repeat itself) but reported."""
    from ..engine.vectors.texts import check_texts

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
    from ..engine.vectors.texts import warn_odd_pools

    warn_odd_pools(texts, name)
