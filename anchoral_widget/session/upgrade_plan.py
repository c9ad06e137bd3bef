"""Which encoder upgrades a session (``upgrade=``), and what a person calls its vectors.

See :mod:`.upgrade` for what the upgrade does behind the person labelling.
"""

from __future__ import annotations

import inspect
import os
from typing import Any

from ..errors import InputError
from .encoding import usable_cores

#: What a session that encodes its pool upgrades to unless told otherwise: MiniLM's own vectors.
DEFAULT_UPGRADE = "onnx"

#: Texts per forward pass of the upgrade: the most encoding a proposal that starts meanwhile overlaps.
UPGRADE_BATCH = 16
#: Texts per cache chunk of the upgrade: each reaches the loop once written, so about a batch's
#: worth at a person's pace on one core (the encoder's own default, 4,096, is minutes of it).
UPGRADE_CHUNK = 1024

_FAMILY = {"fast": "fast", "minilm": "MiniLM", "onnx": "MiniLM", "onnx-int8": "MiniLM int8"}


def embeddings_name(encoder: Any) -> str:
    """What a person calls an encoder's vectors: ``fast``, ``MiniLM`` (torch or ONNX: the same
    vectors), or the encoder's own name."""
    spec = getattr(encoder, "spec", None)
    name = getattr(spec, "name", None) or getattr(encoder, "name", None) or type(encoder).__name__
    return _FAMILY.get(str(name), str(name))


def plan_upgrade(spec: Any, encoder: Any, *, encodes_pool: bool) -> Any:
    """``upgrade=`` as an encoder object, or None for no upgrade. ``"auto"`` (the default):
    :data:`DEFAULT_UPGRADE` when the session encodes the pool with the bundled ``fast`` encoder,
    else None (an encoder of the user's own is theirs to keep). A name, a folder or an object
    with ``encode`` as for ``encoder=``; one that gives the same vectors as ``encoder`` is no
    upgrade. An upgrade of embeddings the session did not encode is an InputError."""
    from ..engine.vectors.encoder import make_encoder

    if spec is None or spec is False:
        return None
    if isinstance(spec, str) and spec == "auto":
        if not encodes_pool or getattr(getattr(encoder, "spec", None), "name", None) != "fast":
            return None
        spec = DEFAULT_UPGRADE
    elif not encodes_pool:
        raise InputError("upgrade= re-encodes the pool the session encodes: not with embeddings= or loop=")
    if isinstance(spec, (str, os.PathLike)):
        # every core but the loop's, at low priority, in short passes: the person's batches come first
        threads = max(1, usable_cores() - 1)
        upgrade = make_encoder(
            spec, progress=False, threads=threads, batch_size=UPGRADE_BATCH, chunk_size=UPGRADE_CHUNK
        )
    else:
        upgrade = make_encoder(spec)
    same = getattr(upgrade, "model_id", None)
    if same is not None and same == getattr(encoder, "model_id", None):
        return None
    return upgrade


def encodes_uncached(encoder: Any) -> bool:
    """Whether ``encoder.encode`` can encode a few texts outside its cache (``cache=False``)."""
    try:
        return "cache" in inspect.signature(encoder.encode).parameters
    except (TypeError, ValueError):
        return False
