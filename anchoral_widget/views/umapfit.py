"""UMAP of the map's sample (cosine, 2-d, seeded; :func:`fit_sample` draws the sample), fitted
by default in a child Python process.

Numba's compiling and UMAP's long compiled loops hold the interpreter lock, which in a thread
would stall the kernel for up to a second at a time (measured); in a child process they cannot.
:func:`fit_umap` is what the map calls; :func:`umap_coords` is UMAP itself, in whichever process
runs it (the one seam the tests replace).
"""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import AnchorALError, InputError


def fit_sample(n: int, labelled_ids: np.ndarray, sample_size: int, seed: int) -> np.ndarray:
    """What UMAP is fitted on, sorted: the labelled items plus up to ``sample_size`` others of
    the ``n``, drawn with ``seed``."""
    labelled = np.unique(labelled_ids)
    rest = np.setdiff1d(np.arange(n), labelled, assume_unique=True)
    rng = np.random.default_rng([seed, 21])
    others = rest if len(rest) <= sample_size else rng.choice(rest, sample_size, replace=False)
    sample = np.sort(np.concatenate([labelled, others])).astype(np.int64)
    if len(sample) < 4:
        raise InputError(f"a map needs at least 4 items, the pool has {len(sample)}")
    return sample


class _EpochSink(io.StringIO):
    """A file for UMAP's tqdm bar (``bar_format="{n}/{total}"``): keeps the last count."""

    def __init__(self, on_count):
        super().__init__()
        self._on_count = on_count

    def write(self, text):
        found = re.findall(r"(\d+)/(\d+)", text)
        if found:
            self._on_count(int(found[-1][0]), int(found[-1][1]))
        return len(text)


def umap_coords(vectors: np.ndarray, *, n_neighbors: int, min_dist: float, seed: int, on_epochs=None) -> np.ndarray:
    """UMAP (cosine, 2-d, seeded) of ``vectors``; ``on_epochs(n, total)`` follows the layout."""
    import warnings

    import umap

    tqdm_kwds = {"disable": on_epochs is None, "bar_format": "{n}/{total}", "mininterval": 0.2}
    if on_epochs is not None:
        tqdm_kwds["file"] = _EpochSink(on_epochs)
    model = umap.UMAP(
        n_components=2,
        metric="cosine",
        n_neighbors=n_neighbors,
        min_dist=min_dist,
        random_state=seed,
        tqdm_kwds=tqdm_kwds,
    )
    with warnings.catch_warnings():
        # "n_jobs value 1 overridden to 1 by setting random_state": seeding is the point here.
        warnings.filterwarnings("ignore", message=".*n_jobs.*", category=UserWarning)
        return np.asarray(model.fit_transform(vectors), dtype=np.float32)


def fit_in_child(vectors: np.ndarray, params: dict, on_epochs, on_child=None) -> np.ndarray:
    """``umap_coords`` in a child Python process (see the module's docstring for why).

    The child is a plain subprocess, not ``multiprocessing``: spawning would re-run a calling
    script's unguarded top level, and a child that dies while its arguments are being piped to
    it leaves the parent blocked for ever. Vectors and coordinates travel as .npy files in a
    temporary folder; progress comes back as lines on the child's stdout.
    """
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory(prefix="anchoral-umap-") as tmpdir:
        folder = Path(tmpdir)
        np.save(folder / "vectors.npy", vectors)
        command = [
            sys.executable,
            "-c",
            "from anchoral_widget.views.umapfit import _child_main; _child_main()",
            str(folder),
            json.dumps(params),
        ]
        with open(folder / "stderr.txt", "w+") as errors:
            child = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=errors, stdin=subprocess.DEVNULL, text=True
            )
            if on_child is not None:
                on_child(child)  # so that the fit can be cancelled
            try:
                assert child.stdout is not None  # stdout=PIPE
                for line in child.stdout:
                    parts = line.split()
                    if len(parts) == 3 and parts[0] == "epochs":
                        on_epochs(int(parts[1]), int(parts[2]))
                code = child.wait()
            finally:
                if child.poll() is None:
                    child.kill()
                    child.wait()
            if code != 0 or not (folder / "coords.npy").exists():
                errors.seek(0)
                tail = errors.read()[-2000:].strip()
                raise AnchorALError(f"fitting the map failed in its child process (exit code {code}): {tail}")
        return np.load(folder / "coords.npy")


def _child_main() -> None:
    """The child process's side of :func:`fit_in_child`: ``<folder> <params as JSON>``."""
    import sys

    folder, params = Path(sys.argv[1]), json.loads(sys.argv[2])
    vectors = np.load(folder / "vectors.npy")
    coords = umap_coords(vectors, on_epochs=lambda n, total: print(f"epochs {n} {total}", flush=True), **params)
    np.save(folder / "coords.tmp.npy", coords)
    os.replace(folder / "coords.tmp.npy", folder / "coords.npy")


def fit_umap(
    vectors: np.ndarray,
    *,
    n_neighbors: int,
    min_dist: float,
    seed: int,
    process: bool,
    on_epochs,
    on_child=None,
) -> np.ndarray:
    """(n, 2) float32 UMAP coordinates of ``vectors``, in a child process (``process``, which
    is handed to ``on_child`` so that the fit can be cancelled) or in this one; raises if UMAP
    returned anything but finite coordinates, one row per vector."""
    params: dict[str, Any] = {"n_neighbors": n_neighbors, "min_dist": min_dist, "seed": seed}
    if process:
        coords = fit_in_child(vectors, params, on_epochs, on_child=on_child)
    else:
        coords = umap_coords(vectors, on_epochs=on_epochs, **params)
    coords = np.asarray(coords, dtype=np.float32)
    if coords.shape != (len(vectors), 2) or not np.isfinite(coords).all():
        raise AnchorALError(f"UMAP returned unusable coordinates (shape {coords.shape})")
    return coords
