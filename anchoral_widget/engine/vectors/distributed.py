"""Encoding a pool on a distributed engine: Ray Data schedules the batches, this module keeps the
result on disk, shard by shard, for the loop to memory-map.

:func:`encode_with_ray` reads the pool's texts as a Ray dataset, runs ``map_batches`` with the
encoder on Ray's workers (a local Ray by default, a cluster by ``address``) and writes the vectors
back where they belong with a :class:`~.shards.ShardedWriter`: one ``.npy`` file whose shards
(blocks of rows) are flushed and recorded as each one completes. An interrupted run (a dead
kernel, a lost cluster) resumes at the shards still missing; a finished one is found again
without encoding anything. :class:`RayEncoder` wraps an encoder so that everything that takes one
(``Labeller(encoder=...)``, :func:`~anchoral_widget.session.startup.build_session`) encodes the
pool on Ray and a search query locally.

On a cluster the workers need this package and the encoder's model where they run (installed, or
shipped with Ray's ``runtime_env``); the driver (the notebook's kernel) writes the file, so only
it needs the disk.
"""

from __future__ import annotations

import copy
import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import InputError
from .shards import ShardedWriter

__all__ = ["RayEncoder", "encode_with_ray"]

#: Rows per shard: the unit of resumption (the most an interruption loses).
SHARD_SIZE = 65_536
#: Texts per ``map_batches`` call on a worker.
BATCH_SIZE = 256


def _ray() -> Any:
    try:
        import ray
    except ImportError as err:  # pragma: no cover - ray is in the "scale" extra
        raise InputError("encoding on Ray needs ray[data]: pip install 'anchoral-widget[scale]'") from err
    return ray


def _texts_fingerprint(texts: Sequence[str]) -> str:
    from .texts import fingerprint_texts

    return fingerprint_texts(texts)


def encoder_identity(encoder: Any) -> str:
    """What makes two encoders give the same vectors: the model's identity when the encoder has
    one (``model_id``), else its class."""
    model_id = getattr(encoder, "model_id", None)
    return str(model_id) if model_id else f"{type(encoder).__module__}.{type(encoder).__qualname__}"


def _worker_copy(encoder: Any) -> Any:
    """The encoder as shipped to a worker: no cache of its own and no progress bar there (the
    driver keeps the one file and shows the one bar)."""
    shipped = copy.copy(encoder)
    for name, value in (("cache_dir", False), ("progress", False)):
        if hasattr(shipped, name):
            setattr(shipped, name, value)
    return shipped


class _EncodeBatch:
    """The Ray Data actor: holds one encoder (its model loaded once per worker) and maps a batch
    of ``{"row", "text"}`` to ``{"row", "embedding"}``."""

    def __init__(self, encoder: Any):
        self.encoder = encoder

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        vectors = np.asarray(self.encoder.encode([str(t) for t in batch["text"]]), dtype=np.float32)
        if vectors.shape[0] != len(batch["row"]):
            raise InputError(f"the encoder returned {vectors.shape[0]} vectors for {len(batch['row'])} texts")
        return {"row": np.asarray(batch["row"], dtype=np.int64), "embedding": vectors}


def _dim(encoder: Any, texts: Sequence[str]) -> int:
    dim = getattr(encoder, "dim", None)
    if isinstance(dim, int) and dim > 0:
        return dim
    return int(np.asarray(encoder.encode([texts[0]])).shape[1])  # one text, locally


def encode_with_ray(
    texts: Sequence[str],
    encoder: Any,
    folder: str | os.PathLike[str],
    *,
    address: str | None = None,
    num_cpus: int | None = None,
    concurrency: int = 1,
    batch_size: int = BATCH_SIZE,
    shard_size: int = SHARD_SIZE,
    dtype: str = "float16",
    on_progress: Callable[[int, int], None] | None = None,
    progress: bool = True,
    ray_init: dict[str, Any] | None = None,
) -> np.memmap:
    """Encode ``texts`` with ``encoder`` on Ray into ``folder/embeddings.npy``; return it
    memory-mapped, read-only.

    Parameters
    ----------
    texts : sequence of str
    encoder : object with ``encode(list[str]) -> (n, d) array``
        Pickled to the workers (the bundled :class:`~.embed.Encoder` loads its model there).
    folder : path
        Where the shards are written; an unfinished folder of the same texts and encoder resumes.
    address : str, optional
        A Ray cluster (``"ray://head:10001"`` or ``"auto"``); without it, a local Ray with
        ``num_cpus`` CPUs is started, and stopped at the end. A Ray already initialised in this
        process is used as it is.
    concurrency : int
        Encoder actors (one model each).
    on_progress : callable(done, total), optional
        Called with the rows written so far (shards done before count from the start), e.g. to
        show progress in the widget; a tqdm bar shows it too unless ``progress=False``.
    """
    from .texts import check_texts

    texts = check_texts(texts)
    if concurrency < 1 or batch_size < 1:
        raise InputError(f"concurrency and batch_size must be at least 1, got {concurrency}, {batch_size}")
    source = f"{_texts_fingerprint(texts)}|{encoder_identity(encoder)}"
    writer = ShardedWriter(folder, len(texts), _dim(encoder, texts), dtype=dtype, shard_size=shard_size, source=source)
    total = len(texts)
    report = _progress(total, writer.rows_done, on_progress, progress)
    try:
        pending = writer.pending()
        if pending:
            _run(texts, encoder, writer, pending, address, num_cpus, concurrency, batch_size, ray_init, report)
    finally:
        report(None)
    return writer.finish()


def _progress(
    total: int, initial: int, on_progress: Callable[[int, int], None] | None, bar: bool
) -> Callable[[int | None], None]:
    tqdm_bar = None
    if bar:
        from tqdm.auto import tqdm

        tqdm_bar = tqdm(total=total, initial=initial, unit="text", desc="encoding on Ray", dynamic_ncols=True)
    done = [initial]
    if on_progress is not None:
        on_progress(initial, total)

    def report(rows: int | None) -> None:
        if rows is None:
            if tqdm_bar is not None:
                tqdm_bar.close()
            return
        done[0] += rows
        if tqdm_bar is not None:
            tqdm_bar.update(rows)
        if on_progress is not None:
            on_progress(done[0], total)

    return report


def _run(
    texts: list[str],
    encoder: Any,
    writer: ShardedWriter,
    pending: list[int],
    address: str | None,
    num_cpus: int | None,
    concurrency: int,
    batch_size: int,
    ray_init: dict[str, Any] | None,
    report: Callable[[int | None], None],
) -> None:
    import pyarrow as pa

    ray = _ray()
    started = False
    if not ray.is_initialized():
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, **(ray_init or {})}
        if address is not None:
            ray.init(address=address, **options)
        else:
            ray.init(num_cpus=num_cpus or 1, **options)
        started = True
    try:
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False  # the driver shows one bar, rows written to disk
        rows = np.concatenate([np.arange(*writer.span(shard)) for shard in pending])
        table = pa.table({"row": pa.array(rows, pa.int64()), "text": pa.array([texts[i] for i in rows], pa.string())})
        dataset = ray.data.from_arrow(table).map_batches(
            _EncodeBatch,
            fn_constructor_kwargs={"encoder": _worker_copy(encoder)},
            batch_size=batch_size,
            batch_format="numpy",
            concurrency=concurrency,
        )
        seen = np.zeros(len(texts), dtype=bool)
        for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
            ids = np.asarray(batch["row"], dtype=np.int64)
            writer.write(ids, np.asarray(batch["embedding"]))
            fresh = int((~seen[ids]).sum())
            seen[ids] = True
            report(fresh)
    finally:
        if started:
            ray.shutdown()


class RayEncoder:
    """An encoder that encodes a pool on Ray (:func:`encode_with_ray`) and a handful of texts
    (a search query) locally, with ``encoder``.

    Each pool gets its own folder under ``folder``, named after its texts and the encoder, so a
    pool encoded before (or half-encoded) is found again. ``encode`` returns the embeddings
    memory-mapped. Other parameters as in :func:`encode_with_ray`.
    """

    def __init__(
        self,
        encoder: Any,
        folder: str | os.PathLike[str],
        *,
        address: str | None = None,
        num_cpus: int | None = None,
        concurrency: int = 1,
        batch_size: int = BATCH_SIZE,
        shard_size: int = SHARD_SIZE,
        dtype: str = "float16",
        local_below: int = 1_024,
        on_progress: Callable[[int, int], None] | None = None,
        progress: bool = True,
        ray_init: dict[str, Any] | None = None,
    ):
        if not callable(getattr(encoder, "encode", None)):
            raise InputError(f"encoder must have an encode(texts) method, got {type(encoder).__name__}")
        self.encoder = encoder
        self.folder = Path(folder).expanduser()
        self.address = address
        self.num_cpus = num_cpus
        self.concurrency = concurrency
        self.batch_size = batch_size
        self.shard_size = shard_size
        self.dtype = dtype
        self.local_below = local_below
        self.on_progress = on_progress
        self.progress = progress
        self.ray_init = ray_init

    @property
    def dim(self) -> int:
        return int(self.encoder.dim)

    @property
    def model_id(self) -> str:
        return encoder_identity(self.encoder)

    def folder_for(self, texts: Sequence[str]) -> Path:
        """Where the pool of ``texts`` is (or will be) written."""
        key = hashlib.sha256(f"{_texts_fingerprint(texts)}|{encoder_identity(self.encoder)}".encode()).hexdigest()
        return self.folder / key[:24]

    def encode(
        self,
        texts: Sequence[str],
        *,
        on_progress: Callable[[int, int], None] | None = None,
        mmap: bool = True,
        **kwargs: Any,
    ) -> np.ndarray:
        """Embeddings of ``texts``: on Ray (memory-mapped) for a pool, locally below
        ``local_below`` texts. ``on_progress(done, total)`` (else the one given at construction)
        hears of every row written, so a session shows the encoding's progress as for a local
        encoder; ``mmap`` is accepted for that same call and always holds for a Ray-encoded pool."""
        texts = list(texts)
        if len(texts) < self.local_below:
            return np.asarray(self.encoder.encode(texts, **kwargs), dtype=np.float32)
        return encode_with_ray(
            texts,
            self.encoder,
            self.folder_for(texts),
            address=self.address,
            num_cpus=self.num_cpus,
            concurrency=self.concurrency,
            batch_size=self.batch_size,
            shard_size=self.shard_size,
            dtype=self.dtype,
            on_progress=on_progress or self.on_progress,
            progress=self.progress,
            ray_init=self.ray_init,
        )

    def __repr__(self) -> str:
        where = self.address or "local Ray"
        return f"RayEncoder({self.encoder!r}, {where}, folder={str(self.folder)!r})"
