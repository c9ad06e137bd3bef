"""One pool size through the widget's start-up, in a process of its own: each stage timed, the
first search, the wait per iteration, the upgrade's move to MiniLM near the labels, the peak
memory and what the loop finds.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from _common import median, peak_rss_bytes

MOVE_WAIT = 300.0  # seconds from the call that the upgrade's move to MiniLM near the labels is waited for
SEARCH = "disorders of the eye and eyelid"


def cpu_seconds() -> float:
    """CPU time of this process so far, every thread (user + system)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(
    path: Path, encoder_name: str, scratch: Path, quality: int, seed: int, map_: bool, read: float, paced: int
) -> dict:
    t_start = time.perf_counter()
    import numpy as np

    from anchoral_widget.engine import pool as pool_module
    from anchoral_widget.engine.loop.active import ActiveLoop
    from anchoral_widget.engine.vectors.encoder import Encoder
    from anchoral_widget.replay.simulation import initial_sample, summarise
    from anchoral_widget.session.startup import start_session
    from anchoral_widget.session.upgrade_plan import DEFAULT_UPGRADE, UPGRADE_BATCH

    seconds: dict[str, float] = {"import": time.perf_counter() - t_start}
    data = json.loads(path.read_text())
    texts, labels = data["texts"], np.asarray(data["labels"], dtype=object)
    n = len(texts)

    shutil.rmtree(scratch, ignore_errors=True)
    encoder = Encoder(encoder_name, cache_dir=scratch / "cache", progress=False)
    t = time.perf_counter()
    encoder._get_model()  # the model in memory: what a first encode waits for before its first text
    seconds["encoder load"] = time.perf_counter() - t

    indexes: list[tuple[str, float, float]] = []  # kind, start, end of every index made
    make_index = pool_module.Pool._make_index

    def timed_index(self, spec, **params):
        t = time.perf_counter()
        index = make_index(self, spec, **params)
        indexes.append((type(index).__name__, t, time.perf_counter()))
        return index

    pool_module.Pool._make_index = timed_index

    seeds = initial_sample(labels, ["eye"], size=100, per_minority_class=5, seed=seed)
    marks: dict[str, float] = {}

    def heard(changes: dict) -> None:
        if "phase" in changes:
            marks.setdefault(changes["phase"], time.perf_counter())
        if "startup" in changes:
            marks.setdefault("startup " + changes["startup"]["stage"], time.perf_counter())
            if changes["startup"].get("embeddings") == "MiniLM":  # the upgrade's move
                marks.setdefault("moved", time.perf_counter())

    # the session's own upgrade (one thread, short passes), its cache in the scratch folder too
    upgrade = (
        Encoder(DEFAULT_UPGRADE, cache_dir=scratch / "cache", progress=False, threads=1, batch_size=UPGRADE_BATCH)
        if encoder_name == "fast"
        else None
    )
    upgraded = [0]  # texts the upgrade has encoded: its rate while a person reads
    if upgrade is not None:
        encode_chunk = upgrade._encode_chunk

        def counted(chunk_texts, *args, **kwargs):
            rows = encode_chunk(chunk_texts, *args, **kwargs)
            upgraded[0] += len(chunk_texts)
            return rows

        upgrade._encode_chunk = counted
    t0 = time.perf_counter()
    session = start_session(
        texts,
        ["other", "eye"],
        ["eye"],
        encoder=encoder,
        upgrade=upgrade,
        seed_labels={int(i): labels[i] for i in seeds},
        store=None,
        map=map_,
        seed=seed,
    )
    returned = time.perf_counter() - t0
    session.on_change(heard)
    session.start()
    while "ready" not in marks and "error" not in marks:
        # an idle worker (the first batch held for the upgrade's move) returns at once: a hot loop
        # here would hold the interpreter's lock from the upgrade's thread
        session.wait(0.05)
        time.sleep(0.02)
    if "error" in marks:
        raise SystemExit(f"the start-up failed: {session.snapshot()['error']}")
    total = marks["ready"] - t0
    cpu_first = cpu_seconds()  # from the process start: the import, the encoder load and the start-up
    load = os.getloadavg()[0]
    snap = session.snapshot()
    startup = snap["startup"]["seconds"]
    seconds["Labeller() returns"] = returned
    seconds["encode"] = startup.get("encoding", 0.0)
    seconds["pool"] = sum(startup.get(k, 0.0) for k in ("starting", "pool", "store", "map"))
    # the index the first proposal waited for: the first one made (exact search, whatever comes later)
    first_index = indexes[0][2] - indexes[0][1] if indexes else 0.0
    seconds["index"] = first_index
    began = marks.get("startup ready", marks["ready"]) + first_index
    # a session seeded with every class holds its first batch for the upgrade's move (Upgrade.head_start)
    moved_first = marks.get("moved", float("inf"))
    seconds["held for the move"] = max(0.0, moved_first - began) if moved_first < marks["ready"] else 0.0
    seconds["first proposal"] = marks["ready"] - began - seconds["held for the move"]
    first = dict(snap["seconds"])
    X_first = np.asarray(encoder.encode(texts))  # the fast embeddings (cached): the loop may have moved already

    # the cold start's first action: a search by meaning
    session.handle({"kind": "search", "query": SEARCH})
    session.wait(60)
    search = session.snapshot()["search"]

    proposals: list[dict] = []  # each proposal's own seconds (train, select), as the session reports them

    def iterations(count: int, read: float = 0.0) -> tuple[list[float], list[float], list]:
        """``count`` iterations answered from the truth, through the session's commands, each after
        ``read`` seconds (a person reading the batch: the next subpool's neighbour lists are fetched
        ahead and the upgrade encodes meanwhile): the wait after each submit, its CPU, and the
        embeddings that served the batch proposed."""
        waits, cpus, served = [], [], []
        for _ in range(count):
            time.sleep(read)
            s = session.snapshot()
            for cls in ("other", "eye"):
                ids = [c["id"] for c in s["batch"] if labels[c["id"]] == cls]
                if ids:
                    session.handle({"kind": "label", "ids": ids, "label": cls, "iteration": s["iteration"]})
            t, c = time.perf_counter(), cpu_seconds()
            session.handle({"kind": "submit", "iteration": s["iteration"]})
            session.wait(120)  # the labels stored, the next batch on screen
            waits.append(time.perf_counter() - t)
            cpus.append(cpu_seconds() - c)
            after = session.snapshot()
            served.append(after["startup"].get("embeddings"))
            proposals.append(after["seconds"])
        return waits, cpus, served

    waits, cpus, served = iterations(5)
    # the upgrade's move to MiniLM's vectors near the labels (they are encoded first), then three more
    while "moved" not in marks and time.perf_counter() - t0 < MOVE_WAIT:
        time.sleep(0.2)
    moved = marks.get("moved")
    near_rows = None if session.loop.pool.missing is None else int((~session.loop.pool.missing).sum())
    near_waits, _, near_served = iterations(3) if moved is not None else ([], [], [])
    t, before = time.perf_counter(), upgraded[0]
    paced_waits, _, paced_served = iterations(paced, read) if paced else ([], [], [])
    paced_rate = (upgraded[0] - before) / max(time.perf_counter() - t, 1e-9)
    peak_session = peak_rss_bytes()
    background = [k for k, _, _ in indexes[1:]]

    # what the loop finds from the same seeds, scored on the held-out set
    t = time.perf_counter()
    test_X = encoder.encode(data["test_texts"])
    rerun = ActiveLoop(X_first, ["other", "eye"], ["eye"], seed=seed, test=(test_X, data["test_labels"]))
    rerun.label(seeds, labels[seeds])
    rerun.simulate(list(labels), budget=quality * rerun.config["batch_size"])
    found = summarise(rerun, seeds, rerun.evaluate())
    quality_seconds = time.perf_counter() - t
    session.close()
    return {
        "n": n,
        "encoder": encoder_name,
        "dim": int(X_first.shape[1]),
        "seconds": {k: round(v, 3) for k, v in seconds.items()},
        "first_batch_seconds": round(total, 3),
        "cpu_seconds": round(cpu_first, 1),
        "load_average": round(load, 1),
        "encode_rate": round(n / max(seconds["encode"], 1e-9), 1),
        "indexes": [{"kind": k, "seconds": round(end - start, 3)} for k, start, end in indexes],
        "first_proposal": first,
        "search_seconds": search["seconds"],
        "search_hits": len(search["results"]),
        "iteration_seconds": [round(w, 3) for w in waits],
        "iteration_median": round(median(waits), 3),
        "iteration_embeddings": served,
        "moved_seconds": None if moved is None else round(moved - t0, 1),
        "moved_rows": near_rows,
        "near_iteration_seconds": [round(w, 3) for w in near_waits],
        "near_embeddings": near_served,
        "iteration_cpu_median": round(median(cpus), 3),
        "read_seconds": read,
        "paced_iteration_seconds": [round(w, 3) for w in paced_waits],
        "paced_embeddings": paced_served,
        "proposal_seconds": proposals,
        "paced_upgrade_rate": round(paced_rate, 1) if upgrade is not None else None,
        "peak_rss": peak_session,
        "embedding_bytes": int(X_first.nbytes),
        "quality": {
            "iterations": found["iterations"],
            "labelled": found["labelled"],
            "minority_found": found["minority_found"],
            "auc_normalised": found["auc_minority_f1_normalised"],
            "final_minority_f1": (found["final_test"] or {}).get("minority_f1"),
            "seconds": round(quality_seconds, 1),
        },
        "map": map_,
        "background_index": background[0] if background else None,
    }
