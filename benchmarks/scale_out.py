"""Past one machine: a 10M pool memory-mapped with the FAISS backend, and the Milvus backend
against milvus-lite.

FAISS part (``--part faiss``): N synthetic 384-d vectors (``_common``'s clustered pool, 1%
minority, generated block by block) are written as a float16 memory-mapped file, the loop's pool
is opened over it with ``index="faiss"`` (IVF-PQ, cached beside the pool), and the loop runs with
the default learner, entropy, A=10, K=50, M=1,000, b=25 from the paper's initial set (100 items,
5 of the minority), an oracle answering. Reported: time to write the file, index build time and
bytes, peak resident memory (and how much of it is the mapped file's pages, which the kernel can
drop, against the process's own memory), median wait per iteration split into training, subpool
and strategy, and recall@50 of the anchors' neighbours against exact search over the same
float16 vectors (a full scan per anchor, on the anchors of ``--recall-iterations`` iterations).

Milvus part (``--part milvus``): the first ``--milvus-n`` rows of the same pool are uploaded to a
milvus-lite server started on a loopback port (a child process), and the loop runs against it
through ``index="milvus://127.0.0.1:PORT/collection"``. milvus-lite is a local stand-in (pure
Python, exact search): its numbers show the client path works and what one round trip costs, not
what a Milvus cluster does.

    .venv/bin/python benchmarks/scale_out.py --part faiss --n 10M --scratch /tmp/scale-bench
    .venv/bin/python benchmarks/scale_out.py --part milvus --milvus-n 1M --scratch /tmp/scale-bench

The scratch folder holds the pool file (7.7 GB at 10M) and the index; ``--keep`` keeps them,
otherwise they are deleted at the end.
"""

from __future__ import annotations

import os
import re

# faiss-cpu ships an OpenBLAS that does not recognise some recent Xeons and falls back to its
# slowest kernel (3x slower k-means and assignment here); numpy's own OpenBLAS picks SkylakeX on
# this machine. Say which kernel to use unless the environment says so already.
_CORETYPE_SET_HERE = False
if "OPENBLAS_CORETYPE" not in os.environ:
    try:
        with open("/proc/cpuinfo") as _fh:
            if re.search(r"\bavx512f\b", _fh.read()):
                os.environ["OPENBLAS_CORETYPE"] = "SkylakeX"
                _CORETYPE_SET_HERE = True
    except OSError:
        pass

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _common import (  # noqa: E402
    CENTRES,
    CHUNK,
    DIM,
    MINORITY_CLUSTERS,
    NOISE_SD,
    RANK,
    RESULTS,
    SUBSPACE_SD,
    command_line,
    machine,
    markdown_table,
    now,
    parse_size,
    peak_rss_bytes,
    write_section,
)

K, A, M, B = 50, 10, 1_000, 25


def pool_name(n: int) -> str:
    """The pool's name in its file and its Milvus collection: ``10M``, ``1.5M``, ``500k``."""
    return f"{n / 1e6:g}M" if n >= 1_000_000 else f"{n // 1000}k"


def synthetic_blocks(n: int, seed: int = 0):
    """``_common.synthetic_pool(n, seed)`` block by block (the same rows), so that a pool larger
    than memory can be written without holding it: yields ``(X_block, y_block)``."""
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


def memory() -> dict:
    """Resident memory now, split into the process's own (anonymous) and mapped files' pages."""
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
                out[key] = int(value.split()[0]) * 1024
    return out


def write_pool(path: Path, n: int, seed: int) -> tuple[np.memmap, np.ndarray, float]:
    from anchoral_widget.engine.vectors.shards import open_embeddings, write_embeddings

    labels_path = path.with_suffix(".labels.npy")
    if path.exists() and labels_path.exists():
        try:
            mapped = open_embeddings(path)
            if mapped.shape == (n, DIM):
                return mapped, np.load(labels_path), 0.0
        except Exception as err:  # a half-written file from an earlier run: write it again
            print(f"rewriting {path}: {err}", flush=True)
    labels = np.empty(n, dtype=np.int8)
    t0 = time.perf_counter()

    def blocks():
        start = 0
        for X, y in synthetic_blocks(n, seed):
            labels[start : start + len(y)] = y
            start += len(y)
            if start % 1_000_000 < CHUNK:
                print(f"  written {start:,} rows ({time.perf_counter() - t0:.0f} s)", flush=True)
            yield X

    mapped = write_embeddings(path, blocks(), dtype="float16", rows_total=n)
    np.save(labels_path, labels)
    return mapped, labels, time.perf_counter() - t0


def exact_knn(mapped: np.ndarray, queries: np.ndarray, k: int, exclude: np.ndarray, block: int = 131_072):
    """Exact top-k by cosine over the mapped (unit, float16) rows, by a full scan in blocks."""
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    best_ids = np.full((len(q), 0), -1, dtype=np.int64)
    best_sims = np.full((len(q), 0), -np.inf, dtype=np.float32)
    for start in range(0, len(mapped), block):
        rows = np.asarray(mapped[start : start + block], dtype=np.float32)
        sims = q @ rows.T
        sims[:, exclude[start : start + len(rows)]] = -np.inf
        ids = np.arange(start, start + len(rows))
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        cand_ids = np.concatenate([best_ids, ids[top]], axis=1)
        cand_sims = np.concatenate([best_sims, np.take_along_axis(sims, top, axis=1)], axis=1)
        order = np.argsort(-cand_sims, axis=1, kind="stable")[:, :k]
        best_ids, best_sims = np.take_along_axis(cand_ids, order, axis=1), np.take_along_axis(cand_sims, order, axis=1)
    return best_ids, best_sims


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
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
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


def _codes_table(faiss: dict) -> list[str]:
    """The same file and cells read, with 4-bit fast-scan codes and with classic 8-bit ones."""
    codes = faiss.get("codes") or {}
    if len(codes) < 2:
        return []
    names = {"fs4": "4-bit, fast-scan (the default)", "pq8": "8-bit (IndexIVFPQ)"}
    return [
        "The same pool and cells read, the index built with each kind of product-quantisation codes "
        "(48 bytes per item either way), in this run:",
        "",
        markdown_table(
            ["codes", "build", "index size", "median wait", "subpool", "waits", "recall@50 minority (mean, min)"],
            [
                [
                    names.get(kind, kind),
                    f"{row['build_seconds']:.0f} s",
                    gib(row["index_bytes"]),
                    f"{row['wait']['total']:.3f} s",
                    f"{row['wait']['subpool']:.3f} s",
                    ", ".join(f"{w:.2f}" for w in row["waits"]),
                    "{:.4f}, {:.2f}".format(*row["recall"]["minority"][:2]) if "minority" in row["recall"] else "-",
                ]
                for kind, row in codes.items()
            ],
        ),
        "",
    ]


def gib(b) -> str:
    return "-" if b is None else f"{b / 2**30:.2f} GiB"


def render(results: dict) -> str:
    lines = ["## Past one machine: a memory-mapped pool with FAISS, and Milvus", ""]
    lines.append(
        "A synthetic clustered pool (`_common.synthetic_pool`: 1000 clusters, each spread along its own 16-d "
        "subspace, 1% minority) written block by block to a float16 memory-mapped file; the loop runs on it with "
        "the default learner, entropy, A=10, K=50, M=1,000, b=25, from 100 initial labels (5 minority), an oracle "
        "answering. The wait is labels in -> next batch ready (`Proposal.seconds`), median over the measured "
        "iterations, after one warm-up iteration."
    )
    lines.append("")
    faiss = results.get("faiss")
    if faiss:
        w = faiss["wait"]
        rec = faiss["recall"]
        params = faiss["index_params"]
        lines += [
            f"### FAISS IVF-PQ over a memory-mapped float16 pool of {faiss['n']:,} x 384",
            "",
            markdown_table(
                ["what", "measured"],
                [
                    ["pool file (float16, on disk)", gib(faiss["file_bytes"])],
                    ["writing it (generate + write + fingerprint)", f"{faiss['write_seconds']:.0f} s"],
                    [
                        "the pool's fingerprint when opened again (from its manifest)",
                        f"{faiss['fingerprint_seconds']:.3f} s",
                    ],
                    [
                        f"index build (nlist {params.get('nlist')}, PQ {params.get('m')} x {params.get('nbits')} bits"
                        f"{', fast-scan' if params.get('codes') == 'fs4' else ''}, trained on {params.get('train_size'):,})",
                        f"{faiss['build_seconds']:.0f} s",
                    ],
                    ["index size", gib(faiss["index_bytes"])],
                    ["index loaded again (a restarted kernel)", f"{faiss['reload_seconds']:.1f} s"],
                    ["peak resident memory (VmHWM)", gib(faiss["peak_rss"])],
                    ["  of which the process's own at the end (RssAnon)", gib(faiss["memory_end"].get("RssAnon"))],
                    [
                        "  and the mapped file's pages at the end (RssFile, dropped by the kernel when memory is short)",
                        gib(faiss["memory_end"].get("RssFile")),
                    ],
                    [f"median wait per iteration ({len(faiss['waits'])} iterations)", f"{w['total']:.3f} s"],
                    [
                        "  training / subpool / strategy",
                        f"{w['train']:.3f} / {w['subpool']:.3f} / {w['strategy']:.3f} s",
                    ],
                    [
                        f"recall@50 of minority anchors' neighbours vs exact (mean, min, n={rec['minority'][2]})",
                        f"{rec['minority'][0]:.4f}, {rec['minority'][1]:.2f}"
                        if rec["minority"][0] is not None
                        else "-",
                    ],
                    [
                        f"recall@50 of majority anchors' neighbours vs exact (mean, min, n={rec['majority'][2]})",
                        f"{rec['majority'][0]:.4f}, {rec['majority'][1]:.2f}"
                        if rec["majority"][0] is not None
                        else "-",
                    ],
                ],
            ),
            "",
            "The same index read at other numbers of cells per query (`nprobe`), each from the same initial set:",
            "",
            markdown_table(
                [
                    f"cells read (of {params.get('nlist')})",
                    "median wait",
                    "subpool",
                    "recall@50 minority (mean, min)",
                    "recall@50 majority (mean, min)",
                ],
                [
                    [
                        int(nprobe),
                        f"{row['wait']['total']:.3f} s",
                        f"{row['wait']['subpool']:.3f} s",
                        "{:.4f}, {:.2f}".format(*row["recall"]["minority"][:2]) if "minority" in row["recall"] else "-",
                        "{:.4f}, {:.2f}".format(*row["recall"]["majority"][:2]) if "majority" in row["recall"] else "-",
                    ]
                    for nprobe, row in sorted(faiss.get("nprobe_sweep", {}).items(), key=lambda kv: int(kv[0]))
                ],
            ),
            "",
            *_codes_table(faiss),
            f"Index: `{faiss['index']}`. Exact search for the recall check is a full scan of the file per batch of anchors "
            f"({', '.join(f'{s:.0f}' for s in faiss['recall_scan_seconds'])} s each): what the loop avoids.",
            "",
        ]
    milvus = results.get("milvus")
    if milvus:
        w = milvus["wait"]
        rec = milvus["recall"]
        lines += [
            f"### Milvus backend against milvus-lite (a local stand-in), {milvus['n']:,} x 384",
            "",
            "milvus-lite 3 is a pure-Python engine serving Milvus's gRPC API on a loopback port: these numbers show "
            "that the client path is correct and what it costs through it, **not** the speed of a Milvus cluster "
            "(whose search runs in its query nodes, on an index of its choosing).",
            "",
            markdown_table(
                ["what", "measured"],
                [
                    [
                        "uploading the pool (insert in batches of 5,000, flush, load)",
                        f"{milvus['upload_seconds']:.0f} s",
                    ],
                    [
                        "reconnecting (a restarted kernel: found by fingerprint, nothing uploaded)",
                        f"{milvus['reconnect_seconds']:.2f} s",
                    ],
                    [f"median wait per iteration ({len(milvus['waits'])} iterations)", f"{w['total']:.3f} s"],
                    [
                        "  training / subpool / strategy",
                        f"{w['train']:.3f} / {w['subpool']:.3f} / {w['strategy']:.3f} s",
                    ],
                    [
                        "recall@50 of the anchors' neighbours vs exact (minority, majority)",
                        f"{rec['minority'][0]:.4f}, {rec['majority'][0]:.4f}"
                        if rec["minority"][0] is not None
                        else "-",
                    ],
                    [
                        f"labelled items returned by a filtered search ({milvus['labelled']} labelled)",
                        str(milvus["labelled_returned"]),
                    ],
                ],
            ),
            "",
        ]
    lines += [
        "### What a cluster deployment needs",
        "",
        "- **Milvus** in cluster mode (the Milvus Helm chart or operator on Kubernetes): proxy, query and data "
        "nodes, with etcd for metadata, object storage (MinIO or S3) for segments and a message queue (Pulsar, "
        "Kafka or Milvus's own Woodpecker) for the write log. The notebook needs only `pymilvus` and the proxy's "
        'address: `index="milvus://milvus-proxy.example:19530/my_pool?token=user:password"` '
        "(`milvus+https://` for TLS). The first session uploads the pool (by its fingerprint) and every later "
        "one, on any machine, reconnects without uploading; labelled items are excluded by the search's "
        "own filter (`id not in [...]`), on the query nodes.",
        "- **Ray** for encoding: a Ray cluster (the KubeRay operator, or `ray up` on VMs) whose workers have this "
        "package and the encoder's model (installed in the image, or shipped with `runtime_env`). The notebook "
        'connects with `RayEncoder(Encoder(), folder, address="ray://head:10001")`; the kernel\'s machine writes '
        "the memory-mapped shards, so it needs the disk (7.7 GB per 10M x 384 float16) but not the memory.",
        "- **FAISS** needs no service: the index lives in the kernel, built from the mapped file and cached beside it.",
        "",
    ]
    if results.get("notes"):
        lines += ["### Notes", "", *[f"- {note}" for note in results["notes"]], ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=("faiss", "milvus", "both"), default="both")
    parser.add_argument("--n", type=parse_size, default=parse_size("10M"))
    parser.add_argument("--milvus-n", type=parse_size, default=parse_size("1M"))
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--milvus-iterations", type=int, default=3)
    parser.add_argument("--milvus-timeout", type=float, default=300.0, help="seconds one call to milvus-lite may take")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--recall-iterations", type=int, default=2)
    parser.add_argument(
        "--nprobes",
        type=lambda t: [int(x) for x in t.split(",")],
        default=[64],
        help="also run at these cells per query",
    )
    parser.add_argument(
        "--compare-nbits",
        type=lambda t: [int(x) for x in t.split(",") if x],
        default=[8],
        help="also build the index with codes of these bits (classic IVF-PQ) and run the loop on it",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scratch", default="/tmp/anchoral-scale-out")
    parser.add_argument("--keep", action="store_true", help="keep the pool files and indexes in --scratch")
    parser.add_argument("--section", default="scale_out")
    args = parser.parse_args(argv)
    scratch = Path(args.scratch)
    scratch.mkdir(parents=True, exist_ok=True)
    print(f"free disk at {scratch}: {shutil.disk_usage(scratch).free / 1e9:.0f} GB", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    json_path = RESULTS / f"{args.section}.json"
    results = json.loads(json_path.read_text()) if json_path.exists() else {}
    results["machine"] = machine()
    notes = []
    if _CORETYPE_SET_HERE:
        notes.append(
            "OPENBLAS_CORETYPE=SkylakeX was set for this run: faiss-cpu's bundled OpenBLAS does not recognise "
            "this CPU and otherwise runs its generic kernel (k-means and cell assignment about 3x slower)."
        )
    try:
        if args.part in ("faiss", "both"):
            results["faiss"] = part_faiss(args, scratch)
            results["faiss"]["stamp"] = now()
            json_path.write_text(json.dumps(results, indent=1, default=str))
        if args.part in ("milvus", "both"):
            results["milvus"] = part_milvus(args, scratch)
            results["milvus"]["stamp"] = now()
            json_path.write_text(json.dumps(results, indent=1, default=str))
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    results["notes"] = sorted(set(results.get("notes", []) + notes))
    json_path.write_text(json.dumps(results, indent=1, default=str))
    write_section(args.section, render(results), command_line())
    print(render(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
