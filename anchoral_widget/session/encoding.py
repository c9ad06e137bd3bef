"""The encoders of a session: one made from what a user passes for ``encoder=`` (or the
default), the pool encoded with whatever progress and caching an encoder offers, the named
encoder that matches precomputed embeddings, and how a background encoding thread yields the
cores. Read by the checks made at once (:mod:`.plan`), the start-up (:mod:`.startup`) and the
encoder upgrade (:mod:`.upgrade`).
"""

from __future__ import annotations

import inspect
import os
import threading
from collections.abc import Callable, Sequence

import numpy as np

from ..errors import InputError


def session_encoder(spec):
    """``encoder=`` as an object: a name or a folder (None: the default) made by the engine,
    without a progress bar (the session shows its own progress); an object with ``encode`` as
    it is. Anything else is an InputError, at once."""
    from ..engine.vectors.encoder import make_encoder

    if spec is None or isinstance(spec, (str, os.PathLike)):
        return make_encoder(spec, progress=False)
    return make_encoder(spec)


def encode_pool(
    encoder,
    texts: Sequence[str],
    on_progress: Callable[[int, int], None],
    on_chunk: Callable[[int, np.ndarray], object] | None = None,
) -> np.ndarray:
    """The pool's embeddings. An encoder that can say how far it is (``on_progress=``) is told
    to, one that can leave its cached result on disk (``mmap=``) does, so a large pool is not
    held in memory twice, and one that hands over each chunk as it is done (``on_chunk=``) hands
    them to ``on_chunk`` (all three as the bundled encoders do); any other is called as
    ``encode(texts)``."""
    try:
        accepts = set(inspect.signature(encoder.encode).parameters)
    except (TypeError, ValueError):
        accepts = set()
    options = {"on_progress": on_progress, "mmap": True, "on_chunk": on_chunk}
    return encoder.encode(texts, **{k: v for k, v in options.items() if k in accepts and v is not None})


def usable_cores() -> int:
    """The cores this process may use."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def default_encoder(dim: int):
    """For precomputed embeddings, the named encoder of their size (the default first), or None,
    so that search never compares vectors of two sizes; None too when it is not installed."""
    from ..engine.vectors.encoder_kinds import DEFAULT_ENCODER, NAMES

    names = [DEFAULT_ENCODER, *NAMES]
    name = next((n for n in names if NAMES[n][1] == dim), None)
    if name is None:
        return None
    try:
        return session_encoder(name)
    except InputError:
        return None  # the bundled model is not installed: no search, the rest works


def lower_priority() -> None:
    """This thread yields the cores to the rest of the kernel (Linux: a thread has its own nice
    value); elsewhere it runs at the process's priority."""
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + 10))
    except (AttributeError, OSError):
        pass
