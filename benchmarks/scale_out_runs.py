"""The loop over a pool past one machine: the FAISS part (a memory-mapped pool, its IVF-PQ index
built, reloaded and read at several cells per query and codes) and the Milvus part (the pool
uploaded to milvus-lite); each iteration's wait, the anchors' recall and the memory.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import numpy as np
from _common import peak_rss_bytes
from scale_out_pool import exact_knn, pool_name, write_pool

K, A, M, B = 50, 10, 1_000, 25


def memory() -> dict:
    """Resident memory now, split into the process's own (anonymous) and mapped files' pages."""
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
                out[key] = int(value.split()[0]) * 1024
    return out


def initial_set(labels: np.ndarray, seed: int) -> np.ndarray:
    """The paper's initial set: 100 items, 5 of them minority, drawn at random."""
    rng = np.random.default_rng(seed)
    minority = np.flatnonzero(labels == 1)
    majority_sample = rng.choice(len(labels), size=400, replace=False)
    majority = majority_sample[labels[majority_sample] == 0][:95]
    return np.concatenate([rng.choice(minority, 5, replace=False), majority])


def run_loop(loop, labels: np.ndarray, iterations: int, warmup: int, recall_iterations: int, mapped) -> dict:
    """Label the initial set, then propose / answer; returns waits and anchor recalls."""
    from anchoral_widget.engine.search.backends import recall_at_k
    from anchoral_widget.engine.vectors.shards import rows

    seeds = initial_set(labels, loop.seed)
    loop.label(seeds, labels[seeds].astype(int).tolist())
    waits, recalls, recall_seconds = [], {"minority": [], "majority": []}, []
    for it in range(warmup + iterations):
        proposal = loop.propose()
        if it >= warmup:
            waits.append(dict(proposal.seconds))
            print(f"  iteration {it}: {proposal.seconds['total']:.3f} s", flush=True)
        if it >= warmup and len(recall_seconds) < recall_iterations:
            t0 = time.perf_counter()
            anchors = proposal.anchor_ids
            queries = rows(mapped, anchors)
            exclude = loop.excluded.copy()
            got, _ = loop.index.query(queries, K, exclude=exclude)
            truth, _ = exact_knn(mapped, queries, K, exclude)
            per_anchor = recall_at_k(got, truth)
            minority = labels[anchors] == 1
            recalls["minority"] += per_anchor[minority].tolist()
            recalls["majority"] += per_anchor[~minority].tolist()
            recall_seconds.append(time.perf_counter() - t0)
        batch = proposal.batch_ids
        loop.label(batch, labels[batch].astype(int).tolist())
    return {"waits": waits, "recalls": recalls, "recall_scan_seconds": recall_seconds}


def summarise_waits(waits: list[dict]) -> dict:
    return {key: float(np.median([w[key] for w in waits])) for key in ("train", "subpool", "strategy", "total")}


def _recall(recalls: dict) -> dict:
    return {k: (float(np.mean(v)), float(np.min(v)), len(v)) for k, v in recalls.items() if v}


def _codes_row(build_seconds: float, index_bytes, run: dict, row: dict) -> dict:
    return {
        "build_seconds": build_seconds,
        "index_bytes": index_bytes,
        "wait": row["wait"],
        "waits": [w["total"] for w in run["waits"]],
        "recall": row["recall"],
    }


def part_faiss(args, scratch: Path) -> dict:
    from anchoral_widget.engine.loop.active import ActiveLoop
    from anchoral_widget.engine.pool import Pool

    n = args.n
    print(f"FAISS part: {n:,} items", flush=True)
    mapped, labels, write_seconds = write_pool(scratch / f"pool-{pool_name(n)}.npy", n, args.seed)
    mem_after_write = memory()
    t0 = time.perf_counter()
    pool = Pool(mapped, index="faiss", cache_dir=scratch / "cache")
    fingerprint = pool.embeddings_fingerprint  # from the file's manifest: no pass over the rows
    fp_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    index = pool.index
    build_seconds = time.perf_counter() - t0
    index_files = list((scratch / "cache" / "indexes").glob(f"{fingerprint}*.faiss"))
    index_bytes = index_files[0].stat().st_size if index_files else None
    print(f"  index {index!r} built in {build_seconds:.0f} s, {index_bytes} bytes", flush=True)
    mem_after_build = memory()
    # A restarted kernel: the same pool file and cache give the same index, loaded, not built.
    t0 = time.perf_counter()
    reopened = Pool(mapped, index="faiss", cache_dir=scratch / "cache")
    reopened_index = reopened.index
    reload_seconds = time.perf_counter() - t0
    del reopened, reopened_index
    # The same index read at several numbers of cells per query: the wait against the recall.
    sweep = {}
    default_nprobe = index.nprobe
    for nprobe in sorted(set(args.nprobes) | {default_nprobe}):
        index.nprobe = nprobe
        print(f"  nprobe {nprobe}", flush=True)
        loop = ActiveLoop(
            pool, [0, 1], [1], batch_size=B, anchors_per_class=A, neighbours=K, subpool_size=M, seed=args.seed
        )
        run = run_loop(loop, labels, args.iterations, args.warmup, args.recall_iterations, mapped)
        sweep[nprobe] = {"wait": summarise_waits(run["waits"]), "recall": _recall(run["recalls"])}
        if nprobe == default_nprobe:
            result = run
    index.nprobe = default_nprobe
    codes = {index.params.get("codes", "?"): _codes_row(build_seconds, index_bytes, result, sweep[default_nprobe])}
    for nbits in args.compare_nbits:
        # the same file, the same cells read, other codes: side by side in one run
        print(f"  codes of {nbits} bits", flush=True)
        t0 = time.perf_counter()
        other = Pool(mapped, index=f"faiss:ivfpq?nbits={nbits}&nprobe={default_nprobe}", cache_dir=scratch / "cache")
        other_index = other.index
        seconds = time.perf_counter() - t0
        loop = ActiveLoop(
            other, [0, 1], [1], batch_size=B, anchors_per_class=A, neighbours=K, subpool_size=M, seed=args.seed
        )
        run = run_loop(loop, labels, args.iterations, args.warmup, args.recall_iterations, mapped)
        row = {"wait": summarise_waits(run["waits"]), "recall": _recall(run["recalls"])}
        codes[other_index.params.get("codes", f"pq{nbits}")] = _codes_row(seconds, other_index.nbytes, run, row)
        del other, other_index, loop
    mem_end = memory()
    return {
        "n": n,
        "file_bytes": (scratch / f"pool-{pool_name(n)}.npy").stat().st_size,
        "write_seconds": write_seconds,
        "fingerprint_seconds": fp_seconds,
        "build_seconds": build_seconds,
        "reload_seconds": reload_seconds,
        "index": repr(index),
        "index_params": getattr(index, "params", {}),
        "index_bytes": index_bytes,
        "memory_after_write": mem_after_write,
        "memory_after_build": mem_after_build,
        "memory_end": mem_end,
        "peak_rss": peak_rss_bytes(),
        "wait": summarise_waits(result["waits"]),
        "waits": result["waits"],
        "recall": {
            k: (float(np.mean(v)) if v else None, float(np.min(v)) if v else None, len(v))
            for k, v in result["recalls"].items()
        },
        "recall_scan_seconds": result["recall_scan_seconds"],
        "nprobe_sweep": sweep,
        "codes": codes,
    }


def part_milvus(args, scratch: Path) -> dict:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "engine" / "search"))
    from milvus_server import MilvusLiteServer

    from anchoral_widget.engine.loop.active import ActiveLoop
    from anchoral_widget.engine.pool import Pool

    logging.getLogger("pymilvus").setLevel(logging.CRITICAL)
    n = args.milvus_n
    print(f"Milvus part: {n:,} items against milvus-lite", flush=True)
    mapped, labels, _ = write_pool(scratch / f"pool-{pool_name(n)}.npy", n, args.seed)
    server = MilvusLiteServer(scratch / "milvus").start()
    try:
        spec = f"{server.uri}/scale_out_{pool_name(n).replace('.', '_')}?timeout={args.milvus_timeout:g}"
        from anchoral_widget.engine.search.backends.milvus import MilvusIndex
        from anchoral_widget.engine.vectors.shards import fingerprint_embeddings

        t0 = time.perf_counter()
        index = MilvusIndex.connect(spec, mapped, fingerprint=fingerprint_embeddings(mapped), progress=True)
        pool = Pool(mapped, index=index)
        upload_seconds = time.perf_counter() - t0
        print(f"  uploaded in {upload_seconds:.0f} s", flush=True)
        t0 = time.perf_counter()
        again = Pool(mapped, index=spec).index  # a restarted kernel: found by fingerprint, nothing uploaded
        reconnect_seconds = time.perf_counter() - t0
        del again
        loop = ActiveLoop(
            pool, [0, 1], [1], batch_size=B, anchors_per_class=A, neighbours=K, subpool_size=M, seed=args.seed
        )
        result = run_loop(loop, labels, args.milvus_iterations, 1, 1, mapped)
        # Labelled items never come back: ask with everything labelled so far excluded.
        got, _ = index.query(
            np.asarray(mapped[loop.labelled_ids[:20]], dtype=np.float32), K, exclude=loop.excluded.copy()
        )
        leaked = int(np.isin(got[got >= 0], loop.labelled_ids).sum())
    finally:
        server.kill()
    return {
        "n": n,
        "upload_seconds": upload_seconds,
        "reconnect_seconds": reconnect_seconds,
        "wait": summarise_waits(result["waits"]),
        "waits": result["waits"],
        "recall": {
            k: (float(np.mean(v)) if v else None, float(np.min(v)) if v else None, len(v))
            for k, v in result["recalls"].items()
        },
        "labelled_returned": leaked,
        "labelled": len(loop.labelled_ids),
    }
