"""A 2-D map of the pool: UMAP (cosine) fitted once on a sample, every other item placed by
its nearest sample points.

- **Fit once per pool**, on a seeded sample: the labelled items plus up to ``sample_size``
  others. The fitted coordinates and the sample ids are cached on disk, keyed by the pool's
  fingerprint (its embeddings' hash): beside the embeddings when they are a memory map of a
  file, else in the default cache folder (``$ANCHORAL_CACHE`` or ``~/.cache/anchoral-widget``),
  so that the same embeddings in memory, in a later session, find the same map. The file is
  written whole or not at all; a cache that fails any check is refitted, never used.
- **Placing other items** (subpool, batch, anchors) never refits: an item's position is the
  inverse-cosine-distance weighted mean of the positions of its ``neighbours`` nearest sample
  points, found in a small HNSW index over the sample (M=16, ef=50: a map needs near
  neighbours, not the exact ones). Measured in ``benchmarks/map_update.py`` (1M pool, 20k
  sample, 1,045 items): 0.11 s this way, 0.94 s by exact search, 0.25 s with a warm
  ``umap.transform`` (1.2 s for its first call, up to a minute when it must compile). The
  deciding point beyond speed: placement needs only the cached coordinates, while
  ``transform`` needs the fitted UMAP object, which the cache does not keep. Positions are
  computed once per item and kept.
- **The whole pool** (``place_all=True``, what the widget's map draws): once UMAP is fitted, the
  background thread places every other item the same way, in chunks, with a smaller search
  beam (ef=20: measured 2.5 s per 50k items at 1M against 5.8 s at ef=50; a map needs near
  neighbours, not the nearest); the placed positions are cached with the fit, so a later
  session reads them. ``benchmarks/map_update.py`` measures the fit and this placement.
- **Never blocks**: :meth:`Projection.start` fits in a background thread, which runs UMAP in
  a child process (so the kernel's interpreter lock stays free); :attr:`status` and
  :meth:`progress` say how far it is.
- **2-d pools** (the toy data) and given coordinates (:meth:`Projection.from_coords`) need no
  UMAP: the positions are the coordinates.
"""

from __future__ import annotations

import io
import json
import os
import re
import threading
import time
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..engine.vectors.fingerprint import fingerprint_array
from ..engine.vectors.matrix import check_embeddings
from ..errors import AnchorALError, InputError

_FORMAT = 1
PLACEMENT_M, PLACEMENT_EF_CONSTRUCTION, PLACEMENT_EF = 16, 100, 50
#: The search beam and chunk size when the whole pool is placed in the background.
BULK_PLACEMENT_EF, BULK_CHUNK = 20, 20_000
STATUSES = ("idle", "fitting", "ready", "error")


def _default_cache_dir(embeddings) -> Path:
    """Beside a memory-mapped file's embeddings, else the package's cache folder."""
    if isinstance(embeddings, np.memmap):
        filename = getattr(embeddings, "filename", None)
        if filename:
            return Path(filename).parent
    from ..engine.vectors.encoder import default_cache_dir

    return default_cache_dir()


class NotReadyError(AnchorALError):
    """The map is not fitted yet (or its fit failed): see ``Projection.status``."""


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


def _fit_in_child(vectors: np.ndarray, params: dict, on_epochs, on_child=None) -> np.ndarray:
    """``umap_coords`` in a child Python process: numba's compiling and UMAP's long compiled
    loops hold the interpreter lock, which in a thread would stall the kernel for up to a
    second at a time (measured); in a child process they cannot.

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
            "from anchoral_widget.views.projection import _child_main; _child_main()",
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
    """The child process's side of :func:`_fit_in_child`: ``<folder> <params as JSON>``."""
    import sys

    folder, params = Path(sys.argv[1]), json.loads(sys.argv[2])
    vectors = np.load(folder / "vectors.npy")
    coords = umap_coords(vectors, on_epochs=lambda n, total: print(f"epochs {n} {total}", flush=True), **params)
    np.save(folder / "coords.tmp.npy", coords)
    os.replace(folder / "coords.tmp.npy", folder / "coords.npy")


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
            cache_dir = _default_cache_dir(embeddings)
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
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._status = "idle"
        self._cancelled, self._child = False, None
        self._phase = ""
        self._fraction = 0.0
        self._started: float | None = None
        self._layout_started: float | None = None
        self._eta: float | None = None
        self._error: BaseException | None = None
        self.sample_ids_: np.ndarray | None = None
        self.sample_xy_: np.ndarray | None = None
        self.fit_seconds_: float | None = None
        #: seconds the fit spent placing the rest of the pool (``place_all``; 0 when cached)
        self.place_seconds_: float | None = None
        self._pool_ids: np.ndarray | None = None
        self._pool_view: np.ndarray | None = None  # read-only view of _xy once all is placed
        self.from_cache_ = False
        self._index: Any = None  # an hnswlib.Index once fitted (hnswlib has no type information)
        self._xy: np.ndarray | None = None  # (n, 2) float32, NaN where not placed yet
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
        self._xy = coords
        self.sample_ids_ = np.arange(len(coords), dtype=np.int64)
        self.sample_xy_ = coords
        self.fit_seconds_ = self.place_seconds_ = 0.0
        self._status, self._phase, self._fraction = "ready", "", 1.0

    # ---- state ------------------------------------------------------------------------

    @property
    def status(self) -> str:
        """``"idle"`` (not started), ``"fitting"``, ``"ready"`` or ``"error"``."""
        return self._status

    @property
    def ready(self) -> bool:
        return self._status == "ready"

    @property
    def error(self) -> BaseException | None:
        return self._error

    def progress(self) -> dict:
        """Where the fit stands: status, phase, fraction done (approximate), elapsed and
        estimated remaining seconds (None until the layout epochs have started)."""
        elapsed = None if self._started is None else time.perf_counter() - self._started
        if self._status == "ready" and self.fit_seconds_ is not None:
            elapsed = self.fit_seconds_
        return {
            "status": self._status,
            "phase": self._phase,
            "fraction": float(self._fraction),
            "elapsed_s": elapsed,
            "eta_s": self._eta,
            "from_cache": self.from_cache_,
            "error": None if self._error is None else f"{type(self._error).__name__}: {self._error}",
        }

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
        return {
            "format": _FORMAT,
            "fingerprint": self.fingerprint,
            "shape": list(self.embeddings.shape),
            "sample_size": self.sample_size,
            "n_neighbors": self.n_neighbors,
            "min_dist": self.min_dist,
            "seed": self.seed,
        }

    @property
    def cache_path(self) -> Path | None:
        if self.cache_dir is None:
            return None
        return self.cache_dir / f"projection-{self.fingerprint[:24]}.npz"

    # ---- fitting ----------------------------------------------------------------------

    def fit(self, labelled_ids: Sequence[int] = ()) -> Projection:
        """Fit (or load from the cache) now, in this thread; if a background fit is under way,
        wait for it instead. Raises what the fit raised."""
        if self._status == "fitting" and self._thread is not None:
            self._thread.join()
            if self._error is not None:
                raise self._error
        if self.ready:
            return self
        ids = self._check_labelled(labelled_ids)
        self._begin()
        self._run(ids)
        if self._error is not None:
            raise self._error
        return self

    def start(self, labelled_ids: Sequence[int] = ()) -> Projection:
        """Fit (or load from the cache) in a background thread and return at once. A second
        call while fitting, or once ready, does nothing."""
        if self._status in ("fitting", "ready"):
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
        return self._status

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
        self._status, self._phase, self._fraction = "fitting", "starting", 0.0
        self._error, self._eta = None, None
        self._started = time.perf_counter()

    def _run(self, labelled_ids: np.ndarray) -> None:
        try:
            self._phase = "fingerprint"
            loaded = self._load_cache()
            placed = None
            if loaded is None:
                sample = self._sample(labelled_ids)
                coords = self._umap(sample)
                self._save_cache(sample, coords)
            else:
                sample, coords, placed = loaded
                self.from_cache_ = True
            self._phase, self._fraction = "placement index", 0.9
            index = self._placement_index(sample)
            if placed is not None:
                xy = placed
            else:
                xy = np.full((len(self.embeddings), 2), np.nan, dtype=np.float32)
                xy[sample] = coords
            with self._lock:
                self._index, self._xy = index, xy
                self.sample_ids_, self.sample_xy_ = sample, coords
            if self.place_all and placed is None:
                self._place_rest(xy, sample, coords)
            assert self._started is not None  # set by _begin()
            self.fit_seconds_ = time.perf_counter() - self._started
            self._status, self._phase, self._fraction, self._eta = "ready", "", 1.0, 0.0
        except Exception as err:  # shown by status/progress; fit() re-raises it
            if self._cancelled:
                self._status, self._phase, self._eta = "idle", "", None
                return
            self._error = err
            self._status, self._eta = "error", None

    def _place_rest(self, xy: np.ndarray, sample: np.ndarray, coords: np.ndarray) -> None:
        """Place every item outside the sample, in chunks (the phase "placing"), then cache
        the positions with the fit."""
        start = time.perf_counter()
        self._phase = "placing"
        rest = np.flatnonzero(np.isnan(xy[:, 0]))
        self._index.set_ef(max(BULK_PLACEMENT_EF, self.neighbours))
        try:
            for lo in range(0, len(rest), BULK_CHUNK):
                if self._cancelled:
                    raise AnchorALError("the map's placement was cancelled")
                chunk = rest[lo : lo + BULK_CHUNK]
                xy[chunk] = self._place(chunk)
                self._fraction = 0.9 + 0.1 * (lo + len(chunk)) / max(len(rest), 1)
        finally:
            self._index.set_ef(max(PLACEMENT_EF, self.neighbours))
        self.place_seconds_ = time.perf_counter() - start
        self._save_cache(sample, coords, placed=xy)

    def _check_labelled(self, labelled_ids) -> np.ndarray:
        """The labelled ids as an array, checked before anything (a cached map would not
        look at them)."""
        ids = np.asarray(labelled_ids, dtype=np.int64).reshape(-1)
        n = len(self.embeddings)
        if len(ids) and (ids.min() < 0 or ids.max() >= n):
            raise InputError(f"labelled ids out of range [0, {n})")
        return ids

    def _sample(self, labelled_ids: np.ndarray) -> np.ndarray:
        n = len(self.embeddings)
        labelled = np.unique(labelled_ids)
        rest = np.setdiff1d(np.arange(n), labelled, assume_unique=True)
        rng = np.random.default_rng([self.seed, 21])
        others = rest if len(rest) <= self.sample_size else rng.choice(rest, self.sample_size, replace=False)
        sample = np.sort(np.concatenate([labelled, others])).astype(np.int64)
        if len(sample) < 4:
            raise InputError(f"a map needs at least 4 items, the pool has {len(sample)}")
        return sample

    def _umap(self, sample: np.ndarray) -> np.ndarray:
        self._phase, self._fraction = "neighbours", 0.05
        vectors = np.asarray(self.embeddings[sample], dtype=np.float32)
        params: dict[str, Any] = {
            "n_neighbors": min(self.n_neighbors, len(sample) - 1),
            "min_dist": self.min_dist,
            "seed": self.seed,
        }
        if self.process:
            coords = _fit_in_child(vectors, params, self._on_epochs, on_child=self._set_child)
        else:
            coords = umap_coords(vectors, on_epochs=self._on_epochs, **params)
        coords = np.asarray(coords, dtype=np.float32)
        if coords.shape != (len(sample), 2) or not np.isfinite(coords).all():
            raise AnchorALError(f"UMAP returned unusable coordinates (shape {coords.shape})")
        return coords

    def _on_epochs(self, n: int, total: int) -> None:
        now = time.perf_counter()
        if self._phase != "layout":
            self._phase, self._layout_started = "layout", now
        self._fraction = 0.3 + 0.6 * n / max(total, 1)
        if n:
            assert self._layout_started is not None  # set when the layout phase began, above
            self._eta = (now - self._layout_started) / n * (total - n)

    def _placement_index(self, sample: np.ndarray):
        import hnswlib

        vectors = np.asarray(self.embeddings[sample], dtype=np.float32)
        index = hnswlib.Index(space="cosine", dim=vectors.shape[1])
        index.init_index(
            max_elements=len(sample), M=PLACEMENT_M, ef_construction=PLACEMENT_EF_CONSTRUCTION, random_seed=self.seed
        )
        index.add_items(vectors, np.arange(len(sample)), num_threads=1)  # one thread: the same graph every time
        index.set_ef(max(PLACEMENT_EF, self.neighbours))
        return index

    # ---- the cache --------------------------------------------------------------------

    def _load_cache(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None] | None:
        path = self.cache_path
        if path is None or not path.exists():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                settings = json.loads(str(data["settings"]))
                sample, coords = data["sample_ids"], data["coords"]
                placed = data["placed"] if "placed" in data.files else None
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            return None
        n = len(self.embeddings)
        ok = (
            settings == self._settings()
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
            placed = None  # the fit is good; only the placement is redone
        if placed is not None:
            placed = placed.astype(np.float32)
            placed[sample] = coords
        self.place_seconds_ = 0.0 if placed is not None else None
        return sample.astype(np.int64), coords.astype(np.float32), placed

    def _save_cache(self, sample: np.ndarray, coords: np.ndarray, placed: np.ndarray | None = None) -> None:
        path = self.cache_path
        if path is None:
            return
        tmp = path.with_name(f"{path.name}.tmp{os.getpid()}-{threading.get_ident()}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as fh:
                settings = np.array(json.dumps(self._settings()))
                if placed is None:
                    np.savez(fh, settings=settings, sample_ids=sample, coords=coords)
                else:
                    np.savez(fh, settings=settings, sample_ids=sample, coords=coords, placed=placed)
            os.replace(tmp, path)
        except OSError as err:  # the map is still good; only the next session refits it
            import warnings

            warnings.warn(f"could not cache the map in {path.parent}: {err}", stacklevel=2)
            if tmp.is_file():
                tmp.unlink()

    # ---- positions --------------------------------------------------------------------

    def positions(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """(len(ids), 2) float32 positions of pool items: sample items where UMAP put them,
        others by their nearest sample points. Raises :class:`NotReadyError` before the fit."""
        if not self.ready:
            raise NotReadyError(f"the map is not ready (status {self._status!r})")
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        n = len(self.embeddings)
        if len(ids) and (ids.min() < 0 or ids.max() >= n):
            raise InputError(f"ids out of range [0, {n})")
        with self._lock:
            assert self._xy is not None  # set whenever the map is ready
            missing = np.unique(ids[np.isnan(self._xy[ids, 0])])
            if len(missing):
                self._xy[missing] = self._place(missing)
            return self._xy[ids].copy()

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
            raise NotReadyError(f"the map is not ready (status {self._status!r})")
        with self._lock:
            assert self._xy is not None
            if self._pool_view is None or self._pool_view.base is not self._xy:
                missing = np.flatnonzero(np.isnan(self._xy[:, 0]))
                if len(missing):
                    self._xy[missing] = self._place(missing)
                self._pool_view = self._xy.view()
                self._pool_view.flags.writeable = False
            return self._pool_view

    def _place(self, ids: np.ndarray) -> np.ndarray:
        # only called once the map is ready, which sets both
        assert self.sample_ids_ is not None and self.sample_xy_ is not None
        k = min(self.neighbours, len(self.sample_ids_))
        near, dist = self._index.knn_query(np.asarray(self.embeddings[ids], dtype=np.float32), k=k, num_threads=1)
        # Weight by inverse cosine distance: an item that coincides with a sample point lands on it.
        weights = 1.0 / np.maximum(dist.astype(np.float64), 1e-6)
        xy = self.sample_xy_[near.astype(np.int64)].astype(np.float64)
        return (np.einsum("nk,nkd->nd", weights, xy) / weights.sum(axis=1, keepdims=True)).astype(np.float32)

    def __repr__(self) -> str:
        size = None if self.sample_ids_ is None else len(self.sample_ids_)
        return f"Projection(pool={len(self.embeddings)}, sample={size}, status={self._status!r})"
