"""The scale-out section: the FAISS part's figures, its sweep over cells per query and codes, the
Milvus part's, and what a cluster deployment needs.
"""

from __future__ import annotations

from _common import markdown_table


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
