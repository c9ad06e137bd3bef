"""The map's fit on disk: the sample ids, their UMAP coordinates and, once the whole pool is
placed, every item's position, in one ``.npz`` file keyed by the pool's fingerprint (its
embeddings' hash) and the fit's settings.

The file lies beside the embeddings when they are a memory map of a file, else in the default
cache folder (``$ANCHORAL_CACHE`` or ``~/.cache/anchoral-widget``), so that the same embeddings in
memory, in a later session, find the same map. It is written whole or not at all; a cache that
fails any check is refitted, never used.
"""

from __future__ import annotations

import json
import os
import threading
import zipfile
from pathlib import Path

import numpy as np

_FORMAT = 1


def cache_folder(embeddings: np.ndarray) -> Path:
    """Beside a memory-mapped file's embeddings, else the package's cache folder."""
    if isinstance(embeddings, np.memmap):
        filename = getattr(embeddings, "filename", None)
        if filename:
            return Path(filename).parent
    from ..engine.vectors.encoder import default_cache_dir

    return default_cache_dir()


def cache_file(folder: Path, fingerprint: str) -> Path:
    """The file of the map of the pool with this fingerprint."""
    return folder / f"projection-{fingerprint[:24]}.npz"


def fit_settings(
    *, fingerprint: str, shape: list[int], sample_size: int, n_neighbors: int, min_dist: float, seed: int
) -> dict:
    """What a cached fit must have been made with to be used: the pool and the fit's settings."""
    return {
        "format": _FORMAT,
        "fingerprint": fingerprint,
        "shape": shape,
        "sample_size": sample_size,
        "n_neighbors": n_neighbors,
        "min_dist": min_dist,
        "seed": seed,
    }


def load_fit(path: Path, settings: dict, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None] | None:
    """``(sample ids, their coordinates, every item's position or None)`` cached at ``path``
    for a pool of ``n`` items fitted with ``settings``; None when there is none, or it fails a
    check. Positions that fail a check are dropped alone: the fit is good, only the placement
    is redone."""
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            stored = json.loads(str(data["settings"]))
            sample, coords = data["sample_ids"], data["coords"]
            placed = data["placed"] if "placed" in data.files else None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    ok = (
        stored == settings
        and sample.ndim == 1
        and coords.shape == (len(sample), 2)
        and len(sample) >= 4
        and np.issubdtype(sample.dtype, np.integer)
        and sample.min() >= 0
        and sample.max() < n
        and np.all(np.diff(sample) > 0)
        and np.isfinite(coords).all()
    )
    if not ok:
        return None
    if placed is not None and (placed.shape != (n, 2) or not np.isfinite(placed).all()):
        placed = None
    if placed is not None:
        placed = placed.astype(np.float32)
        placed[sample] = coords
    return sample.astype(np.int64), coords.astype(np.float32), placed


def save_fit(
    path: Path, settings: dict, sample: np.ndarray, coords: np.ndarray, placed: np.ndarray | None = None
) -> None:
    """Write the fit to ``path`` whole or not at all; a folder that cannot be written warns."""
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}-{threading.get_ident()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as fh:
            stored = np.array(json.dumps(settings))
            if placed is None:
                np.savez(fh, settings=stored, sample_ids=sample, coords=coords)
            else:
                np.savez(fh, settings=stored, sample_ids=sample, coords=coords, placed=placed)
        os.replace(tmp, path)
    except OSError as err:  # the map is still good; only the next session refits it
        import warnings

        warnings.warn(f"could not cache the map in {path.parent}: {err}", stacklevel=2)
        if tmp.is_file():
            tmp.unlink()
