"""The map's costs on large pools: the first fit, placing the whole pool, and the update the
front end receives after each batch.

On synthetic clustered 384-d pools (``_common.synthetic_pool``; 100k and 1M items by default),
for each size, in this process:

1. The fit of the widget's map in the background (``Projection(place_all=True).start``, no disk
   cache): UMAP (cosine) on a 20,000-item sample in a child process (numba's compiling
   included), then the placement of every other item by its nearest sample points (HNSW over
   the sample, ef=20, in chunks of 20k). While it runs the main thread sleeps in 10 ms steps
   and the longest gap between its wake-ups is recorded (how long the fit holds the kernel).
2. Twenty simulated iterations on the whole pool (the widget's map: every item drawn), each
   with a fresh subpool of 1,000 items, 20 anchors and a batch of 25: the kernel time of
   ``map_state(whole_pool=True)`` + ``map_update_payload`` and the bytes of each update, and
   those of the first (full) message, which carries the whole pool's ids and positions.
3. With ``--compare-placement``: placing ~1,045 items outside the sample by HNSW, by exact
   search and by ``umap.transform``.

    .venv/bin/python benchmarks/map_update.py                        # 100k and 1M
    .venv/bin/python benchmarks/map_update.py --pool-sizes 100000

Writes ``benchmarks/results/map_update.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cache_root, cached_pool, machine, markdown_table, peak_rss_bytes, write_section

from anchoral_widget.engine.vectors.fingerprint import fingerprint_array
from anchoral_widget.views.mapstate import map_state
from anchoral_widget.views.mapupdate import map_update_payload, payload_bytes
from anchoral_widget.views.placement import Placement
from anchoral_widget.views.projection import Projection

WORDS = [
    "anchor",
    "subpool",
    "minority",
    "cluster",
    "label",
    "budget",
    "entropy",
    "neighbour",
    "pool",
    "batch",
    "class",
    "rare",
    "text",
]


class FakeTexts:
    """Item i's text, made up on demand (~150 characters), so a 1M pool needs no text list."""

    def __getitem__(self, i):
        rng = np.random.default_rng([7, int(i)])
        return f"item {int(i)}: " + " ".join(rng.choice(WORDS, 16))

    def __len__(self):
        return 10**9


def placement_times(projection: Projection, X: np.ndarray, ids: np.ndarray, umap_model) -> dict:
    """Seconds to place ``ids`` (none placed before) by each method."""
    out = {}
    t = time.perf_counter()
    ours = projection.positions(ids)
    out["neighbour-weighted, HNSW over the sample (used)"] = time.perf_counter() - t

    sample = np.asarray(X[projection.sample_ids_], np.float32)
    t = time.perf_counter()
    sims = np.asarray(X[ids], np.float32) @ sample.T
    near = np.argpartition(-sims, projection.neighbours, axis=1)[:, : projection.neighbours]
    w = 1.0 / np.maximum(1.0 - np.take_along_axis(sims, near, 1), 1e-6)
    exact = np.einsum("nk,nkd->nd", w, projection.sample_xy_[near]) / w.sum(1, keepdims=True)
    out["neighbour-weighted, exact search (matmul)"] = time.perf_counter() - t
    extent = np.linalg.norm(projection.sample_xy_.max(0) - projection.sample_xy_.min(0))
    out["mean gap HNSW vs exact placement, % of the map's diagonal"] = 100 * float(
        np.linalg.norm(ours - exact, axis=1).mean() / extent
    )
    if umap_model is not None:
        t = time.perf_counter()
        umap_model.transform(np.asarray(X[ids], np.float32))
        out["umap.transform, first call"] = time.perf_counter() - t
        t = time.perf_counter()
        umap_model.transform(np.asarray(X[ids], np.float32))
        out["umap.transform, warm"] = time.perf_counter() - t
    return out


def fit(X: np.ndarray, sample_size: int, labelled: np.ndarray) -> tuple[Projection, float]:
    """The widget's map fitted in the background, as a session starts it; the longest stall
    of this thread meanwhile."""
    projection = Projection(
        X, sample_size=sample_size, fingerprint=fingerprint_array(X), seed=0, cache_dir=False, place_all=True
    )
    projection.start(labelled)
    gaps, last, seen = [], time.perf_counter(), set()
    while projection.status == "fitting":
        time.sleep(0.01)
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
        p = projection.progress()
        if p["phase"] not in seen:
            seen.add(p["phase"])
            print(f"  {p['elapsed_s']:.1f}s {p['phase']} {p['fraction']:.2f}", flush=True)
    if projection.status != "ready":
        raise SystemExit(f"fit failed: {projection.error}")
    return projection, max(gaps)


def iterations(projection: Projection, X: np.ndarray, labelled: np.ndarray, args, rng) -> dict:
    """Kernel seconds and bytes of each map update on the whole pool (the first is full)."""
    texts = FakeTexts()
    classes, minority = ["majority", "minority"], ["minority"]
    labelled_ids = list(labelled)
    labelled_classes = list(rng.integers(0, 2, len(labelled)))
    previous, times, sizes = None, [], []
    n = len(X)
    for it in range(args.iterations):
        subpool = np.setdiff1d(rng.choice(n, 2 * args.subpool, replace=False), labelled_ids)[: args.subpool]
        scores = np.sort(rng.uniform(0.3, 0.9, len(subpool)))[::-1]
        anchors = rng.choice(labelled_ids, 20, replace=False)
        batch = subpool[:25]
        t = time.perf_counter()
        state = map_state(
            projection,
            classes=classes,
            minority=minority,
            iteration=it,
            labelled_ids=labelled_ids,
            labelled_classes=labelled_classes,
            subpool_ids=subpool,
            subpool_scores=scores,
            anchor_ids=anchors,
            anchor_classes=rng.integers(0, 2, len(anchors)),
            batch_ids=batch,
            embeddings=X,
            whole_pool=True,
        )
        header, buffers = map_update_payload(previous, state, texts=texts, text_chars=100)
        times.append(time.perf_counter() - t)
        sizes.append(payload_bytes(header, buffers))
        assert header["full"] == (it == 0)
        previous = state
        labelled_ids += batch.tolist()
        labelled_classes += list(rng.integers(0, 2, len(batch)))
    return {"times": times, "sizes": sizes}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pool-sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--sample-size", type=int, default=20_000)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--subpool", type=int, default=1000)
    parser.add_argument("--compare-placement", action="store_true", help="HNSW vs exact vs umap.transform")
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    rows = []
    for n in args.pool_sizes:
        t = time.perf_counter()
        X, _ = cached_pool(n, cache_root(args.cache_dir))
        print(f"pool {X.shape} ready in {time.perf_counter() - t:.1f}s", flush=True)
        rng = np.random.default_rng(0)
        labelled = rng.choice(n, 100, replace=False)
        projection, stall = fit(X, args.sample_size, labelled)
        assert projection.fit_seconds_ is not None and projection.place_seconds_ is not None
        size = f"{n:,}"
        rows.append(
            [
                size,
                f"UMAP on the {len(projection.sample_ids_):,}-item sample (child process)",
                projection.fit_seconds_ - projection.place_seconds_,
                "s",
            ]
        )
        rows.append(
            [
                size,
                f"placing the other {n - len(projection.sample_ids_):,} items (HNSW, ef=20)",
                projection.place_seconds_,
                "s",
            ]
        )
        rows.append([size, "the whole fit, in the background", projection.fit_seconds_, "s"])
        rows.append([size, "  longest kernel-thread stall meanwhile (10 ms sleeps)", stall, "s"])
        if args.compare_placement:
            import umap

            sample = np.asarray(X[projection.sample_ids_], np.float32)
            model = umap.UMAP(n_components=2, metric="cosine", random_state=0).fit(sample)
            fresh = Projection(X, sample_size=args.sample_size, seed=0, cache_dir=False, process=False)
            fresh.sample_ids_, fresh.sample_xy_ = projection.sample_ids_, projection.sample_xy_
            fresh._placement = Placement(  # the fitted index, nothing outside the sample placed yet
                X, fresh.sample_ids_, fresh.sample_xy_, index=projection._placement.index, neighbours=fresh.neighbours
            )
            fresh._progress.status = "ready"
            outside = np.setdiff1d(rng.choice(n, 3 * (args.subpool + 45), replace=False), projection.sample_ids_)
            for name, value in placement_times(fresh, X, outside[: args.subpool + 45], model).items():
                rows.append([size, f"place {args.subpool + 45:,} items: {name}", value, "%" if "%" in name else "s"])
        run = iterations(projection, X, labelled, args, rng)
        steady = run["times"][1:]
        rows.append([size, "first map message (whole pool: ids + positions), kernel time", run["times"][0], "s"])
        rows.append([size, "  its size", run["sizes"][0] / 2**20, "MiB"])
        rows.append([size, f"map update after a batch, median of {len(steady)}", float(np.median(steady)), "s"])
        rows.append([size, "  slowest", float(np.max(steady)), "s"])
        rows.append(
            [
                size,
                "  size (median, with hover texts of the new subpool)",
                float(np.median(run["sizes"][1:])) / 1024,
                "KiB",
            ]
        )
        rows.append([size, "peak memory of this process so far", peak_rss_bytes() / 2**30, "GiB"])
        del X, projection
    table = markdown_table(["pool", "what", "value", "unit"], rows)
    print(table)
    info = machine()
    body = "\n".join(
        [
            "## The map: fit, placing the whole pool, the update after each batch",
            "",
            f"Synthetic clustered 384-d pools; UMAP sample: 100 labelled + {args.sample_size:,} others; each "
            f"iteration a fresh subpool of {args.subpool:,}, a batch of 25, 20 anchors; {args.iterations} "
            "iterations. The widget's map draws every item of the pool, so the fit places them all, in the "
            "background, before the map is shown; after that an update only indexes positions already placed.",
            f"Machine: {info.get('cpu', '?')}, {info.get('cores')} cores (shared with other jobs), "
            f"{info.get('ram_gib', '?')} GiB; load average at the end {os.getloadavg()[0]:.1f}.",
            "",
            table,
            "",
            "Goal: at most 0.2 s of kernel time per update at 1M. The first message carries the whole pool once "
            "(int32 ids and float32 positions: 12 bytes an item); later ones only the layers that changed "
            "(subpool, anchors, batch, new labelled items) and the hover texts of the items new to them. The "
            "pool's texts are never sent: the front end asks for one on hover or click.",
            "",
            "UMAP runs in a child process and the placement in a thread, in chunks, so the kernel keeps "
            "answering while the map is fitted; its longest stall meanwhile is the figure above. The "
            "positions are cached beside the fit, so the next session with the same pool reads them. "
            "Placement by the nearest sample points in HNSW was chosen over exact search and "
            "`umap.transform` on speed (`--compare-placement` measures the three again).",
        ]
    )
    if not args.no_write:
        print(f"written {write_section('map_update', body)}")


if __name__ == "__main__":
    main()
