"""Shared helpers for the benchmark scripts: synthetic pools, the cached index, tables, the
machine description.

Nothing here is part of the package; the scripts import it as a sibling module.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"

DIM = 384
CENTRES = 1000
MINORITY_CLUSTERS = 10  # 10 of 1000 equally likely clusters: a 1% minority
RANK = 16  # each cluster spreads mostly along its own 16-d subspace, like a topic in real text
# Scales of the spread: sd 0.25 along the cluster's subspace, 0.02 per coordinate everywhere.
# An item's cosine to its centre is then about 0.69; its nearest neighbour (at 30 items per
# cluster) about 0.70 and its 10th about 0.53, close to all-MiniLM-L6-v2 neighbourhoods of texts
# on one topic. Isotropic noise alone (no subspace) makes every pair in a cluster equally
# similar, which real embeddings are not.
SUBSPACE_SD = 0.25
NOISE_SD = 0.02
CHUNK = 50_000


def cache_root(given: str | None = None) -> Path:
    """Where pools and indexes are kept between runs: ``--cache-dir``, else
    ``$ANCHORAL_CACHE/benchmarks`` (default ``~/.cache/anchoral-widget/benchmarks``)."""
    if given:
        root = Path(given).expanduser()
    else:
        from anchoral_widget.engine.vectors.encoder import default_cache_dir

        root = default_cache_dir() / "benchmarks"
    root.mkdir(parents=True, exist_ok=True)
    return root


def parse_size(text: str) -> int:
    """A pool size as written on a command line: ``10k``, ``1M``, ``1.5m``, ``20_000``."""
    text = text.strip().lower().replace("_", "")
    for suffix, factor in (("k", 1_000), ("m", 1_000_000)):
        if text.endswith(suffix):
            return int(float(text[:-1]) * factor)
    return int(text)


def size_label(n: int) -> str:
    """A pool size as the tables write it: ``10k``, ``1M``."""
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k" if n % 1000 == 0 else str(n)


def synthetic_pool(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A clustered pool on the unit sphere: (n, 384) float32 embeddings and 0/1 labels.

    1000 centres drawn uniformly on the sphere, each with a random 16-d subspace; an item is a
    uniformly drawn centre plus a Gaussian offset in that centre's subspace plus a little
    isotropic noise, l2-normalised. Items of the first 10 clusters are the minority class (1%).
    Generated in chunks of 50k in float32, each chunk from its own seeded generator, so the first
    rows of a larger pool equal the rows of a smaller one.
    """
    X = np.empty((n, DIM), dtype=np.float32)
    y = np.empty(n, dtype=np.int64)
    start = 0
    for block, labels in synthetic_blocks(n, seed):
        X[start : start + len(block)] = block
        y[start : start + len(block)] = labels
        start += len(block)
    return X, y


def synthetic_blocks(n: int, seed: int = 0):
    """``synthetic_pool(n, seed)`` block by block, so that a pool larger than memory can be
    written without holding it: yields ``(X_block, y_block)``, 50k rows each, labels as int8."""
    rng = np.random.default_rng([seed, 0])
    centres = rng.standard_normal((CENTRES, DIM), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    bases = rng.standard_normal((CENTRES, RANK, DIM), dtype=np.float32) / np.float32(np.sqrt(DIM))
    for c, start in enumerate(range(0, n, CHUNK)):
        stop = min(start + CHUNK, n)
        g = np.random.default_rng([seed, 1, c])
        cluster = g.integers(0, CENTRES, size=stop - start)
        z = g.standard_normal((stop - start, RANK), dtype=np.float32) * np.float32(SUBSPACE_SD)
        block = g.standard_normal((stop - start, DIM), dtype=np.float32) * np.float32(NOISE_SD)
        block += centres[cluster]
        order = np.argsort(cluster, kind="stable")
        bounds = np.flatnonzero(np.diff(cluster[order])) + 1
        for rows in np.split(order, bounds):
            block[rows] += z[rows] @ bases[cluster[rows[0]]]
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        yield block, (cluster < MINORITY_CLUSTERS).astype(np.int8)


def cached_pool(n: int, root: Path, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``synthetic_pool(n, seed)``, saved as .npy under ``root/pools`` and loaded from there."""
    folder = root / "pools"
    folder.mkdir(parents=True, exist_ok=True)
    xp, yp = folder / f"pool-{n}-s{seed}-X.npy", folder / f"pool-{n}-s{seed}-y.npy"
    if xp.exists() and yp.exists():
        return np.load(xp), np.load(yp)
    X, y = synthetic_pool(n, seed)
    for path, arr in ((xp, X), (yp, y)):
        tmp = path.with_name(path.name + f".tmp{os.getpid()}.npy")
        np.save(tmp, arr)
        os.replace(tmp, path)
    return X, y


def cached_index(X: np.ndarray, root: Path, name: str, *, threads: int = 1, seed: int = 0):
    """The HNSW index of a pool (the engine's settings), built once and kept under
    ``root/indexes/<name>.hnsw``. Returns ``(index, build_seconds or None if loaded, bytes)``.

    The engine's ``cached_hnsw`` builds single-threaded only; this helper passes ``threads`` on
    to ``HnswIndex.build`` so that a 1M build fits in the time a benchmark has.
    """
    from anchoral_widget.engine.search.hnsw import HNSW_EF_CONSTRUCTION, HNSW_M, HnswIndex

    folder = root / "indexes"
    folder.mkdir(parents=True, exist_ok=True)
    path, meta_path = folder / f"{name}.hnsw", folder / f"{name}.json"
    meta = {
        "rows": len(X),
        "dim": int(X.shape[1]),
        "M": HNSW_M,
        "ef_construction": HNSW_EF_CONSTRUCTION,
        "seed": seed,
    }
    if path.exists() and meta_path.exists():
        saved = json.loads(meta_path.read_text())
        if {k: saved.get(k) for k in meta} == meta:
            return HnswIndex.load(path, dim=X.shape[1], size=len(X)), None, path.stat().st_size, saved
    t0 = time.perf_counter()
    index = HnswIndex.build(X, seed=seed, num_threads=threads)
    seconds = time.perf_counter() - t0
    index.save(path)
    meta.update(build_seconds=seconds, threads=threads)
    meta_path.write_text(json.dumps(meta))
    return index, seconds, path.stat().st_size, meta


def peak_rss_bytes() -> int:
    """This process's peak resident set (VmHWM)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def rss_bytes() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def markdown_table(headers: list[str], rows: list[list]) -> str:
    def cell(v):
        if v is None:
            return "-"
        if isinstance(v, float):
            if not np.isfinite(v):
                return "-"
            return f"{v:.3f}" if abs(v) < 100 else f"{v:,.0f}"
        return str(v)

    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join("---" for _ in headers) + " |"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def command_line() -> str:
    """The command that ran this script, relative to the repository root."""
    script = Path(sys.argv[0]).resolve()
    with contextlib.suppress(ValueError):
        script = script.relative_to(HERE.parent)
    return " ".join([".venv/bin/python", str(script), *sys.argv[1:]])


def now() -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())


def target_line(what: str, figure: str, target: str, met: bool, section: str) -> str:
    """A headline figure against its target, met or NOT met, with a link to its section."""
    return f"- {what}: {figure}; target {target}: {'met' if met else 'NOT met'} ([{section}](#{section}))."


def write_section(name: str, body: str, command: str | None = None, stamp: str | None = None) -> Path:
    """Write ``benchmarks/results/<name>.md``: the section, the command that produced it, when."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.md"
    text = body.rstrip() + f"\n\nProduced by `{command or command_line()}` on {stamp or now()}.\n"
    path.write_text(text)
    return path


def write_results(section: str, results, text: str) -> None:
    """Write ``benchmarks/results/<section>.json`` (the raw results, the command, when) and its section."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {"command": command_line(), "produced": now(), "results": results}
    (RESULTS / f"{section}.json").write_text(json.dumps(payload, indent=1))
    write_section(section, text)


def machine() -> dict:
    """What the numbers were measured on."""
    info = {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    with contextlib.suppress(OSError):
        info["nproc"] = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    try:
        with open("/proc/cpuinfo") as fh:
            names = [line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")]
        info["cpu"] = names[0] if names else platform.processor()
    except OSError:
        info["cpu"] = platform.processor()
    try:
        with open("/proc/meminfo") as fh:
            total_kb = int(next(line for line in fh if line.startswith("MemTotal")).split()[1])
        info["ram_gib"] = round(total_kb / 2**20, 1)
    except (OSError, StopIteration):
        pass
    from importlib import metadata

    for module, dist in (
        ("numpy", "numpy"),
        ("sklearn", "scikit-learn"),
        ("hnswlib", "hnswlib"),
        ("torch", "torch"),
        ("transformers", "transformers"),
        ("sentence_transformers", "sentence-transformers"),
    ):
        try:
            info[module] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            info[module] = "not installed"
    return info


def median(values) -> float:
    values = [v for v in values if v is not None]
    return float(np.median(values)) if values else float("nan")
