"""Index backends beyond the in-process ones: FAISS for pools that do not fit in memory as
float32, and a vector database (Milvus) for pools beyond one machine.

Every backend answers the loop's one question, as :class:`..index.VectorIndex` states it:
``query(vectors, k, exclude) -> (ids, similarities)``, best first, padded with -1 / -inf,
excluded items never returned, and excluded *inside* the engine's search (an ID selector, a
filter on a field), never by fetching more and dropping some. :func:`open_index` turns an
``index=`` string (see :mod:`.spec`) into one.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .base import IndexUnavailableError, recall_at_k
from .spec import IndexSpec, parse_index

__all__ = ["IndexSpec", "IndexUnavailableError", "open_index", "parse_index", "recall_at_k"]


def open_index(
    spec: str | IndexSpec,
    embeddings: np.ndarray,
    *,
    fingerprint: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    seed: int = 0,
    progress: bool = False,
    **options: Any,
) -> Any:
    """The index that ``spec`` names over ``embeddings``: built, found in ``cache_dir`` (FAISS) or
    on the server (Milvus, by ``fingerprint``). In-process kinds (``auto``, ``exact``, ``hnsw``)
    are not handled here: :func:`..index.build_index` builds those.

    ``options`` override the spec's own (e.g. ``nprobe=``; ``build=False`` for Milvus).
    """
    from ....errors import InputError

    parsed = parse_index(spec) if isinstance(spec, str) else spec
    if parsed.kind == "faiss":
        from .faiss import FaissIndex, cached_faiss

        opts = {**parsed.options, **options}
        if cache_dir is not None:
            if fingerprint is None:
                from ...vectors.shards import fingerprint_embeddings

                fingerprint = fingerprint_embeddings(embeddings)
            return cached_faiss(
                embeddings,
                cache_dir,
                parsed.variant or "ivfpq",
                fingerprint=fingerprint,
                progress=progress,
                seed=seed,
                **opts,
            )
        return FaissIndex.build(embeddings, parsed.variant or "ivfpq", seed=seed, progress=progress, **opts)
    if parsed.kind == "milvus":
        from .milvus import MilvusIndex

        if fingerprint is None:
            from ...vectors.shards import fingerprint_embeddings

            fingerprint = fingerprint_embeddings(embeddings)
        return MilvusIndex.connect(parsed, embeddings, fingerprint=fingerprint, progress=progress, **options)
    raise InputError(f"index kind {parsed.kind!r} is built in process, by build_index")
