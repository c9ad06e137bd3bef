"""A 2-D map of the pool: UMAP (cosine) fitted once on a sample, every other item placed by
its nearest sample points. :class:`Projection` is the map; its parts lie beside it.

- **Fit once per pool** on a seeded sample: the labelled items plus up to ``sample_size``
  others (:mod:`.umapfit`), cached on disk, keyed by the pool's fingerprint
  (:mod:`.projectioncache`). Other items (subpool, batch, anchors) are placed by their nearest
  sample points, never by a refit, once each (:mod:`.placement`).
- **The whole pool** (``place_all=True``, what the widget's map draws) is placed by the fit's
  background thread once UMAP is done, in chunks, and cached with the fit.
- **Never blocks**: :meth:`Projection.start` fits in a background thread, which runs UMAP in
  a child process; :attr:`Projection.status` and :meth:`Projection.progress` say how far it
  is (:mod:`.fitprogress`).
- **2-d pools** (the toy data) and given coordinates (:meth:`Projection.from_coords`) need no
  UMAP: the positions are the coordinates.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ..engine.vectors.fingerprint import fingerprint_array
from ..engine.vectors.matrix import check_embeddings
from ..errors import AnchorALError, InputError
from .fitprogress import FitProgress
from .placement import Placement, placement_index
from .projectioncache import cache_file, cache_folder, fit_settings, load_fit, save_fit
from .umapfit import fit_sample, fit_umap

#: How many items the background placement of the whole pool places at a time (between two
#: looks at whether the fit was cancelled).
BULK_CHUNK = 20_000


class NotReadyError(AnchorALError):
    """The map is not fitted yet (or its fit failed): see ``Projection.status``."""


class Projection:
    """The pool's 2-D map.

    Parameters
    ----------
    embeddings : (n, d) array
        The pool. With d == 2 the rows are the positions and nothing is fitted.
    cache_dir : path or False, optional
        Where the fitted map is cached. Default: beside the embeddings when they are a memory
        map of a file (as ``Encoder.encode(..., mmap=True)`` returns), else the default cache
        folder (:func:`~anchoral_widget.engine.vectors.encoder.default_cache_dir`). ``False``: no disk
        cache.
    sample_size : int
        How many items besides the labelled ones UMAP is fitted on.
    neighbours : int
        Sample points averaged to place an item that is not in the sample.
    n_neighbors, min_dist : UMAP's parameters.
    fingerprint : str or callable, optional
        The embeddings' hash if the caller has it, or a function that gives it (the pool's,
        asked for only when the cache is first looked up); by default computed here.
    process : bool
        Fit UMAP in a child process (default), so that the kernel never stalls while it runs;
        False fits in this process, quicker when numba has compiled UMAP here already.
    place_all : bool
        Place every item of the pool as part of the fit (in the background), so that the
        whole pool has positions once the map is ready (:attr:`pool_xy`); default False:
        items are placed when first asked for.
    seed : int
    """

    def __init__(
        self,
        embeddings: np.ndarray,
        *,
        cache_dir: str | os.PathLike | None = None,
        sample_size: int = 20_000,
        neighbours: int = 10,
        n_neighbors: int = 15,
        min_dist: float = 0.1,
        fingerprint: str | Callable[[], str] | None = None,
        process: bool = True,
        place_all: bool = False,
        seed: int = 0,
    ):
        if cache_dir is None:
            cache_dir = cache_folder(embeddings)
        elif cache_dir is False:
            cache_dir = None
        elif cache_dir is True:
            raise InputError("cache_dir must be a folder, None (the default folder) or False (no cache)")
        self.embeddings = check_embeddings(embeddings) if not isinstance(embeddings, np.memmap) else embeddings
        if self.embeddings.ndim != 2 or len(self.embeddings) == 0:
            raise InputError(f"embeddings must be a non-empty 2-d array, got shape {self.embeddings.shape}")
        if sample_size < 1 or neighbours < 1 or n_neighbors < 2:
            raise InputError("sample_size and neighbours must be at least 1, n_neighbors at least 2")
        self.cache_dir = None if cache_dir is None else Path(cache_dir).expanduser()
        self.sample_size = int(sample_size)
        self.neighbours = int(neighbours)
        self.n_neighbors = int(n_neighbors)
        self.min_dist = float(min_dist)
        self.seed = int(seed)
        self.process = bool(process)
        self.place_all = bool(place_all)
        self._fingerprint = fingerprint
        self._thread: threading.Thread | None = None
        self._progress = FitProgress()
        self._cancelled, self._child = False, None
        self.sample_ids_: np.ndarray | None = None
        self.sample_xy_: np.ndarray | None = None
        self.fit_seconds_: float | None = None
        #: seconds the fit spent placing the rest of the pool (``place_all``; 0 when cached)
        self.place_seconds_: float | None = None
        self._pool_ids: np.ndarray | None = None
        self.from_cache_ = False
        self._placement: Placement | None = None  # once fitted
        if self.embeddings.shape[1] == 2:
            self._set_coords(np.asarray(self.embeddings, dtype=np.float32))

    @classmethod
    def from_coords(cls, coords: np.ndarray) -> Projection:
        """A ready map whose positions are the given (n, 2) coordinates (the toy data)."""
        coords = np.asarray(coords, dtype=np.float32)
        if coords.ndim != 2 or coords.shape[1] != 2:
            raise InputError(f"coords must have shape (n, 2), got {coords.shape}")
        return cls(coords)

    def _set_coords(self, coords: np.ndarray) -> None:
        self.sample_ids_ = np.arange(len(coords), dtype=np.int64)
        self.sample_xy_ = coords
        self._placement = Placement(
            self.embeddings, self.sample_ids_, coords, index=None, neighbours=self.neighbours, placed=coords
        )
        self.fit_seconds_ = self.place_seconds_ = 0.0
        self._progress.status, self._progress.phase, self._progress.fraction = "ready", "", 1.0

    # ---- state ------------------------------------------------------------------------

    @property
    def status(self) -> str:
        """``"idle"`` (not started), ``"fitting"``, ``"ready"`` or ``"error"``."""
        return self._progress.status

    @property
    def ready(self) -> bool:
        return self._progress.status == "ready"

    @property
    def error(self) -> BaseException | None:
        return self._progress.error

    def progress(self) -> dict:
        """Where the fit stands: status, phase, fraction done (approximate), elapsed and
        estimated remaining seconds (None until the layout epochs have started)."""
        return self._progress.report(fit_seconds=self.fit_seconds_, from_cache=self.from_cache_)

    def describe(self) -> str:
        """Where the map stands, in one sentence (for a notebook's output, where
        :meth:`progress` is for code)."""
        p = self.progress()
        if p["status"] == "ready":
            if self.embeddings.shape[1] == 2:
                return "map: the pool's own 2-d coordinates"
            assert self.sample_ids_ is not None  # set whenever the map is ready
            size = f"{len(self.sample_ids_):,} items"
            if p["from_cache"]:
                return f"map: read from the cache in {self.cache_dir} (UMAP of {size}, fitted in an earlier run)"
            where = f", cached in {self.cache_dir} for the next run" if self.cache_path is not None else ""
            return f"map: UMAP fitted on {size} in {p['elapsed_s']:.0f} s{where}"
        if p["status"] == "fitting":
            left = "" if p["eta_s"] is None else f", about {p['eta_s']:.0f} s left"
            return f"map: fitting UMAP ({p['phase'] or 'starting'}, {p['fraction']:.0%}{left})"
        if p["status"] == "error":
            return f"map: could not be fitted ({p['error']})"
        return "map: not fitted yet (start() fits it in the background, fit() now)"

    @property
    def fingerprint(self) -> str:
        """The pool's content hash (computed on first use: a full pass over the embeddings)."""
        if self._fingerprint is None:
            self._fingerprint = fingerprint_array(self.embeddings)
        elif callable(self._fingerprint):
            self._fingerprint = self._fingerprint()
        return self._fingerprint

    def _settings(self) -> dict:
        return fit_settings(
            fingerprint=self.fingerprint,
            shape=list(self.embeddings.shape),
            sample_size=self.sample_size,
            n_neighbors=self.n_neighbors,
            min_dist=self.min_dist,
            seed=self.seed,
        )

    @property
    def cache_path(self) -> Path | None:
        if self.cache_dir is None:
            return None
        return cache_file(self.cache_dir, self.fingerprint)

    # ---- fitting ----------------------------------------------------------------------

    def fit(self, labelled_ids: Sequence[int] = ()) -> Projection:
        """Fit (or load from the cache) now, in this thread; if a background fit is under way,
        wait for it instead. Raises what the fit raised."""
        if self.status == "fitting" and self._thread is not None:
            self._thread.join()
            if self.error is not None:
                raise self.error
        if self.ready:
            return self
        ids = self._check_labelled(labelled_ids)
        self._begin()
        self._run(ids)
        if self.error is not None:
            raise self.error
        return self

    def start(self, labelled_ids: Sequence[int] = ()) -> Projection:
        """Fit (or load from the cache) in a background thread and return at once. A second
        call while fitting, or once ready, does nothing."""
        if self.status in ("fitting", "ready"):
            return self
        ids = self._check_labelled(labelled_ids).copy()
        self._begin()
        self._thread = threading.Thread(target=self._run, args=(ids,), name="anchoral-projection", daemon=True)
        self._thread.start()
        return self

    def wait(self, timeout: float | None = None) -> str:
        """Block until the background fit ends (or ``timeout`` seconds pass); the status."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.status

    def _set_child(self, child) -> None:
        self._child = child
        if self._cancelled:
            child.kill()

    def cancel(self) -> None:
        """Stop a fit running in its child process (nothing is cached); a later
        :meth:`start` begins again."""
        self._cancelled = True
        child = getattr(self, "_child", None)
        if child is not None and child.poll() is None:
            child.kill()

    def _begin(self) -> None:
        self._cancelled, self._child = False, None
        self._progress.begin()

    def _run(self, labelled_ids: np.ndarray) -> None:
        try:
            self._progress.phase = "fingerprint"
            loaded = self._load_cache()
            placed = None
            if loaded is None:
                sample = fit_sample(len(self.embeddings), labelled_ids, self.sample_size, self.seed)
                coords = self._umap(sample)
                self._save_cache(sample, coords)
            else:
                sample, coords, placed = loaded
                self.from_cache_ = True
            self._progress.phase, self._progress.fraction = "placement index", 0.9
            vectors = np.asarray(self.embeddings[sample], dtype=np.float32)
            index = placement_index(vectors, neighbours=self.neighbours, seed=self.seed)
            self._placement = Placement(
                self.embeddings, sample, coords, index=index, neighbours=self.neighbours, placed=placed
            )
            self.sample_ids_, self.sample_xy_ = sample, coords
            if self.place_all and placed is None:
                self._place_rest(self._placement)
            self.fit_seconds_ = self._progress.elapsed()
            self._progress.finish()
        except Exception as err:  # shown by status/progress; fit() re-raises it
            if self._cancelled:
                self._progress.stop()
                return
            self._progress.fail(err)

    def _place_rest(self, placement: Placement) -> None:
        """Place every item outside the sample, in chunks (the phase "placing"), then cache
        the positions with the fit."""
        start = time.perf_counter()
        self._progress.phase = "placing"
        rest = placement.unplaced()
        with placement.bulk_search():
            for lo in range(0, len(rest), BULK_CHUNK):
                if self._cancelled:
                    raise AnchorALError("the map's placement was cancelled")
                chunk = rest[lo : lo + BULK_CHUNK]
                placement.xy[chunk] = self._place(chunk)
                self._progress.fraction = 0.9 + 0.1 * (lo + len(chunk)) / max(len(rest), 1)
        self.place_seconds_ = time.perf_counter() - start
        self._save_cache(placement.sample_ids, placement.sample_xy, placed=placement.xy)

    def _check_labelled(self, labelled_ids) -> np.ndarray:
        """The labelled ids as an array, checked before anything (a cached map would not
        look at them)."""
        ids = np.asarray(labelled_ids, dtype=np.int64).reshape(-1)
        n = len(self.embeddings)
        if len(ids) and (ids.min() < 0 or ids.max() >= n):
            raise InputError(f"labelled ids out of range [0, {n})")
        return ids

    def _umap(self, sample: np.ndarray) -> np.ndarray:
        self._progress.phase, self._progress.fraction = "neighbours", 0.05
        return fit_umap(
            np.asarray(self.embeddings[sample], dtype=np.float32),
            n_neighbors=min(self.n_neighbors, len(sample) - 1),
            min_dist=self.min_dist,
            seed=self.seed,
            process=self.process,
            on_epochs=self._progress.on_epochs,
            on_child=self._set_child,
        )

    # ---- the cache --------------------------------------------------------------------

    def _load_cache(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None] | None:
        path = self.cache_path
        loaded = None if path is None else load_fit(path, self._settings(), len(self.embeddings))
        if loaded is not None:
            self.place_seconds_ = 0.0 if loaded[2] is not None else None
        return loaded

    def _save_cache(self, sample: np.ndarray, coords: np.ndarray, placed: np.ndarray | None = None) -> None:
        path = self.cache_path
        if path is not None:
            save_fit(path, self._settings(), sample, coords, placed)

    # ---- positions --------------------------------------------------------------------

    def positions(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """(len(ids), 2) float32 positions of pool items: sample items where UMAP put them,
        others by their nearest sample points. Raises :class:`NotReadyError` before the fit."""
        if not self.ready:
            raise NotReadyError(f"the map is not ready (status {self.status!r})")
        assert self._placement is not None  # set whenever the map is ready
        return self._placement.positions(ids)

    @property
    def pool_ids(self) -> np.ndarray:
        """0 .. n-1, made once (the ids of :attr:`pool_xy`'s rows)."""
        if self._pool_ids is None:
            self._pool_ids = np.arange(len(self.embeddings), dtype=np.int64)
        return self._pool_ids

    @property
    def pool_xy(self) -> np.ndarray:
        """(n, 2) float32 positions of the whole pool, read-only, the same array each time
        once every item is placed (at once with ``place_all``, else placed now)."""
        if not self.ready:
            raise NotReadyError(f"the map is not ready (status {self.status!r})")
        assert self._placement is not None
        return self._placement.pool_xy

    def _place(self, ids: np.ndarray) -> np.ndarray:
        # only called once the placement is made
        assert self._placement is not None
        return self._placement.place(ids)

    def __repr__(self) -> str:
        size = None if self.sample_ids_ is None else len(self.sample_ids_)
        return f"Projection(pool={len(self.embeddings)}, sample={size}, status={self.status!r})"
