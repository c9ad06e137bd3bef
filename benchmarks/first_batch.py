"""Raw texts to the first batch: 10k / 100k / 1M short texts through the widget's start-up.

The pools are built from the bundled corpora: the ``icd10-eye`` pool (58k ICD-10-CM titles, the
eye chapter at 1%) and, as more "other", the brand tweets and the health-news tweets. Each class
is filled to its share (eye 1%) by cycling through its texts; a repeated text is varied with a
prefix and a suffix drawn for it (``"Update: Cataract, left eye (follow-up)"``), so no two items
of a pool are the same text. The held-out set is the ``icd10-eye`` test split (14.6k titles).

Every size runs in a fresh subprocess (its import time and peak memory are its own) along the
widget's own path: ``start_session`` (what ``Labeller(...)`` calls), seeded with the paper's
initial set (100 labels, 5 eye), then waiting for the first batch. Stages:

- import: ``import anchoral_widget`` and the session;
- encoder load: the encoder's model into memory (``fast`` is built from the bundled MiniLM once
  per machine, by ``bin/setup``: not counted);
- encode: the whole pool, cold (an embeddings cache of its own, emptied first);
- pool: hashing the texts and embeddings (the label store is named after it), the store, the loop;
- index: making the index the anchors query (exact search: nothing to build);
- first proposal: training, anchors, the anchors' exact kNN, subpool, strategy.

Then the first action of a cold start (a search by meaning), five more iterations answered from
the truth through the session's commands (the wait per iteration), the encoder upgrade's move to
MiniLM's vectors near the labels (when, and three iterations on them), the peak resident memory, and
what the loop finds: ``--quality`` iterations of b=25 from the same seed labels, labelled by the
truth, scored on the test set (minority items found, minority-F1 AUC normalised by iterations).

    .venv/bin/python benchmarks/first_batch.py --sizes 10k,100k
    nice -n 10 .venv/bin/python benchmarks/first_batch.py --sizes 1M --merge
    .venv/bin/python benchmarks/first_batch.py --sizes 10k --encoders fast,minilm --merge
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    RESULTS,
    cache_root,
    command_line,
    machine,
    markdown_table,
    median,
    now,
    parse_size,
    peak_rss_bytes,
    size_label,
    write_section,
)

MINORITY_SHARE = 0.01
TARGETS = {100_000: 30.0, 1_000_000: 300.0}  # seconds to the first batch, on 2 CPU cores
ITERATION_TARGET = 0.5  # seconds per iteration at 1M with exact search
MOVE_WAIT = 300.0  # seconds from the call that the upgrade's move to MiniLM near the labels is waited for
PREFIXES = ["", "Note: ", "Re: ", "Update: ", "Seen today: ", "Repost: ", "Again: ", "Reported: ", "Quote: ", "FYI "]
SUFFIXES = [
    "",
    " (follow-up)",
    " [2]",
    " - see above",
    " (repeat)",
    " again",
    " #update",
    " (copy)",
    " (cont.)",
    " - noted",
]
SEARCH = "disorders of the eye and eyelid"


# ---- the pools ------------------------------------------------------------------------------


def base_corpus() -> dict:
    """Distinct texts per class from the bundled corpora, and the held-out set."""
    from anchoral_widget.data import load_dataset
    from anchoral_widget.data.sources import health_tweets_source, tweets_source

    data = load_dataset("icd10-eye", seed=0)
    eye = [t for t, c in zip(data.texts, data.labels) if c == "eye"]
    held_out = set(data.test_texts)
    other, seen = [], set(eye) | held_out
    for text in (
        [t for t, c in zip(data.texts, data.labels) if c != "eye"]
        + list(tweets_source()[0])
        + list(health_tweets_source()[0])
    ):
        text = " ".join(str(text).split())
        if text and text not in seen:
            seen.add(text)
            other.append(text)
    return {"eye": eye, "other": other, "test_texts": list(data.test_texts), "test_labels": list(data.test_labels)}


def variant(text: str, k: int) -> str:
    """The k-th copy of ``text``: itself for k = 0, else a prefix and a suffix drawn for it."""
    if k == 0:
        return text
    import numpy as np

    combos = np.random.default_rng(zlib.crc32(text.encode())).permutation(len(PREFIXES) * len(SUFFIXES) - 1) + 1
    p, s = divmod(int(combos[(k - 1) % len(combos)]), len(SUFFIXES))
    return f"{PREFIXES[p]}{text}{SUFFIXES[s]}" + (f" ({k // len(combos)})" if k >= len(combos) else "")


def build_pool(n: int, base: dict, seed: int = 0) -> tuple[list[str], list[str]]:
    """``n`` texts (eye at 1%), each class cycling through its texts with variations, shuffled."""
    import numpy as np

    counts = {"eye": round(n * MINORITY_SHARE)}
    counts["other"] = n - counts["eye"]
    texts, labels = [], []
    for cls, count in counts.items():
        source = base[cls]
        texts += [variant(source[i % len(source)], i // len(source)) for i in range(count)]
        labels += [cls] * count
    order = np.random.default_rng(seed).permutation(n)
    return [texts[i] for i in order], [labels[i] for i in order]


def cached_pool(n: int, root: Path) -> Path:
    """The pool of size ``n`` and the test set, as JSON under ``root`` (built once)."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"pool-{n}.json"
    if not path.exists():
        base = _base(root)
        texts, labels = build_pool(n, base)
        assert len(set(texts)) == n, "every item of a pool is a text of its own"
        tmp = path.with_name(path.name + f".tmp{os.getpid()}")
        tmp.write_text(
            json.dumps(
                {"texts": texts, "labels": labels, "test_texts": base["test_texts"], "test_labels": base["test_labels"]}
            )
        )
        os.replace(tmp, path)
    return path


_BASE: dict = {}


def _base(root: Path) -> dict:
    if not _BASE:
        _BASE.update(base_corpus())
        print(
            f"base corpus: {len(_BASE['eye']):,} eye, {len(_BASE['other']):,} other, test {len(_BASE['test_texts']):,}",
            file=sys.stderr,
        )
    return _BASE


# ---- one size, in a fresh process ----------------------------------------------------------------


def cpu_seconds() -> float:
    """CPU time of this process so far, every thread (user + system)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(path: Path, encoder_name: str, scratch: Path, quality: int, seed: int, map_: bool) -> dict:
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

    t0 = time.perf_counter()
    session = start_session(
        texts,
        ["other", "eye"],
        ["eye"],
        encoder=encoder,
        # the session's own upgrade (one thread, short passes), its cache in the scratch folder too
        upgrade=Encoder(
            DEFAULT_UPGRADE, cache_dir=scratch / "cache", progress=False, threads=1, batch_size=UPGRADE_BATCH
        )
        if encoder_name == "fast"
        else None,
        seed_labels={int(i): labels[i] for i in seeds},
        store=None,
        map=map_,
        seed=seed,
    )
    returned = time.perf_counter() - t0
    session.on_change(heard)
    session.start()
    while "ready" not in marks and "error" not in marks:
        session.wait(0.05)
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
    seconds["first proposal"] = marks["ready"] - marks.get("startup ready", marks["ready"]) - first_index
    first = dict(snap["seconds"])
    X_first = session.loop.embeddings  # the fast embeddings, before the upgrade moves the loop

    # the cold start's first action: a search by meaning
    session.handle({"kind": "search", "query": SEARCH})
    session.wait(60)
    search = session.snapshot()["search"]

    def iterations(count: int) -> tuple[list[float], list[float], list]:
        """``count`` iterations answered from the truth, through the session's commands: the wait
        after each submit, its CPU, and the embeddings that served the batch proposed."""
        waits, cpus, served = [], [], []
        for _ in range(count):
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
            served.append(session.snapshot()["startup"].get("embeddings"))
        return waits, cpus, served

    waits, cpus, served = iterations(5)
    # the upgrade's move to MiniLM's vectors near the labels (they are encoded first), then three more
    while "moved" not in marks and time.perf_counter() - t0 < MOVE_WAIT:
        time.sleep(0.2)
    moved = marks.get("moved")
    near_rows = None if session.loop.pool.missing is None else int((~session.loop.pool.missing).sum())
    near_waits, _, near_served = iterations(3) if moved is not None else ([], [], [])
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


def run_child(args, n: int, encoder: str, pool_path: Path, root: Path) -> dict:
    cmd = [sys.executable, __file__, "--child", str(pool_path), "--encoder-name", encoder]
    cmd += ["--scratch", str(root / f"scratch-{size_label(n)}-{encoder}"), "--quality", str(args.quality)]
    cmd += ["--seed", str(args.seed)] + (["--map"] if args.map else [])
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-5000:])
        raise SystemExit(f"{size_label(n)} with {encoder} failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---- the section ----------------------------------------------------------------------------------


def render(results: list[dict], args) -> str:
    mib = 2**20
    stage_names = ["import", "encoder load", "encode", "pool", "index", "first proposal"]
    rows, quality_rows, verdicts = [], [], []
    for r in sorted(results, key=lambda r: (r["n"], r["encoder"])):
        s = r["seconds"]
        rows.append(
            [
                size_label(r["n"]),
                r["encoder"],
                s["Labeller() returns"],
                *[s.get(k) for k in stage_names],
                r["first_batch_seconds"],
                s["import"] + s["encoder load"] + r["first_batch_seconds"],
                r.get("cpu_seconds"),
                r.get("load_average"),
                f"{r['encode_rate']:,.0f}",
                r["search_seconds"],
                r["iteration_median"],
                r.get("iteration_cpu_median"),
                f"{r['peak_rss'] / mib:,.0f}",
                f"{r['embedding_bytes'] / mib:,.0f}",
            ]
        )
        q = r["quality"]
        quality_rows.append(
            [
                size_label(r["n"]),
                r["encoder"],
                r["dim"],
                q["labelled"],
                q["minority_found"],
                q["auc_normalised"],
                q["final_minority_f1"],
            ]
        )
        whole = s["import"] + s["encoder load"] + r["first_batch_seconds"]
        if r["n"] in TARGETS:
            met = "met" if whole <= TARGETS[r["n"]] else "NOT met"
            verdicts.append(
                f"- {size_label(r['n'])} ({r['encoder']}): {whole:.1f} s from a fresh kernel to the first batch "
                f"({r.get('cpu_seconds')} s of CPU, load average {r.get('load_average')}), "
                f"target {TARGETS[r['n']]:.0f} s: {met}."
            )
        if r["n"] == 1_000_000:
            worst = max(r["iteration_seconds"])
            met = "met" if worst <= ITERATION_TARGET else "NOT met"
            cpu = r.get("iteration_cpu_median")
            verdicts.append(
                f"- 1M ({r['encoder']}): an iteration with exact search waits {r['iteration_median']:.3f} s "
                f"(median of 5, worst {worst:.3f} s; {cpu} s of CPU, load average {r.get('load_average')}), "
                f"target {ITERATION_TARGET} s: {met}."
            )
    for r in sorted(results, key=lambda r: (r["n"], r["encoder"])):
        if r.get("moved_seconds") is not None:
            near = r["near_iteration_seconds"]
            verdicts.append(
                f"- {size_label(r['n'])} ({r['encoder']}): the loop moved to MiniLM's vectors near the labels "
                f"{r['moved_seconds']:.1f} s after the call ({r['moved_rows']:,} texts encoded by then); an "
                f"iteration on them waits {median(near):.3f} s (median of {len(near)}, worst {max(near):.3f} s)."
            )
        elif r["encoder"] == "fast":
            verdicts.append(f"- {size_label(r['n'])} ({r['encoder']}): no move to MiniLM within {MOVE_WAIT:.0f} s.")
    for r in results:
        # exact search over the upgrade's rows is nothing built: only a graph or a backend counts
        later = [i for i in r["indexes"][1:] if r.get("background_index") and i["kind"] != "ExactIndex"]
        if later:
            verdicts.append(
                f"- {size_label(r['n'])} ({r['encoder']}): {later[0]['kind']} built in the background in "
                f"{later[0]['seconds']:.1f} s while labelling went on with exact search."
            )
    headers = [
        "pool",
        "encoder",
        "Labeller() returns (s)",
        *[f"{k} (s)" for k in stage_names],
        "call -> first batch (s)",
        "fresh kernel -> first batch (s)",
        "CPU (s)",
        "load",
        "encode texts/s",
        "search (s)",
        "iteration (s)",
        "iteration CPU (s)",
        "peak RSS (MiB)",
        "embeddings (MiB)",
    ]
    lines = [
        "## Raw texts to the first batch",
        "",
        "The widget's start-up (`Labeller(...)` = `session.startup.start_session`), per stage, on pools built from "
        "the bundled corpora: the `icd10-eye` pool (58k ICD-10-CM titles) and, as more `other`, the brand tweets "
        "and health-news tweets; each class filled to its share (eye 1%) by cycling through its texts, a repeat "
        "varied with a prefix and a suffix drawn for it, so no two items are the same text. Seeded with the "
        "paper's initial set (100 labels, 5 eye); label store off; the map "
        + ("on." if args.map else "off (it is fitted in a child process once the loop is ready, never before a batch).")
        + " Each size in a fresh process; the embeddings cache emptied first (a cold encode). "
        "`call -> first batch`: from the call to the first batch on screen; `fresh kernel`: plus the import and "
        "the encoder load. `index`: the index the first proposal waited for (exact search: nothing to build, the "
        "embeddings used as they are); `first proposal` is the rest of it. "
        "`CPU`: the CPU seconds the process had used at the first batch (every thread, the import "
        "included), which other jobs on the machine do not inflate; `load`: the machine's 1-minute load average "
        "then (it is shared: wall times grow with the load). "
        "`iteration`: the wait after a submit, median of 5, through the session's commands. `search`: a cold "
        f'start\'s search ("{SEARCH}").',
        "",
        markdown_table(headers, rows),
        "",
        "### Targets",
        "",
        *verdicts,
        "",
        "### What the loop finds",
        "",
        f"From the same 100 seed labels, {args.quality} iterations of 25 labelled from the truth (default learner, "
        "entropy, anchoral); minority F1 on the `icd10-eye` test split (14.6k titles) encoded with the same "
        "encoder; AUC over iterations, normalised by their number. MiniLM is run at 10k only (at ~150 texts/s "
        "on 2 cores, 1M would take about two hours); `benchmarks/encoders.py` compares the encoders on the "
        "claims benchmark (see its section).",
        "",
        markdown_table(
            ["pool", "encoder", "dim", "labelled", "eye found", "minority-F1 AUC (normalised)", "final minority F1"],
            quality_rows,
        ),
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10k,100k,1M")
    parser.add_argument("--encoders", default="fast", help="encoder names, comma-separated")
    parser.add_argument("--quality", type=int, default=20, help="iterations of the quality run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--map", action="store_true", help="with the map, as the widget's default")
    parser.add_argument("--merge", action="store_true", help="keep earlier results of other sizes and encoders")
    parser.add_argument("--cache-dir")
    parser.add_argument("--render", action="store_true", help="only write the section again from the saved results")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--encoder-name", help=argparse.SUPPRESS)
    parser.add_argument("--scratch", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        out = measure(Path(args.child), args.encoder_name, Path(args.scratch), args.quality, args.seed, args.map)
        shutil.rmtree(args.scratch, ignore_errors=True)
        print(json.dumps(out))
        return 0

    root = cache_root(args.cache_dir) / "first_batch"
    json_path = RESULTS / "first_batch.json"
    results = json.loads(json_path.read_text())["results"] if (args.merge or args.render) and json_path.exists() else []
    if args.render:
        saved = json.loads(json_path.read_text())
        path = write_section("first_batch", render(results, args), saved.get("command"), saved.get("when"))
        print(f"wrote {path}", file=sys.stderr)
        return 0
    for n in [parse_size(s) for s in args.sizes.split(",")]:
        pool_path = cached_pool(n, root)
        for encoder in args.encoders.split(","):
            print(f"{size_label(n)} with {encoder}…", file=sys.stderr, flush=True)
            r = run_child(args, n, encoder, pool_path, root)
            print(
                f"  first batch {r['first_batch_seconds']:.1f} s, stages {r['seconds']}, quality {r['quality']}",
                file=sys.stderr,
                flush=True,
            )
            results = [x for x in results if (x["n"], x["encoder"]) != (n, encoder)] + [r]
    RESULTS.mkdir(parents=True, exist_ok=True)
    json_path.write_text(
        json.dumps({"machine": machine(), "when": now(), "command": command_line(), "results": results}, indent=1)
    )
    path = write_section("first_batch", render(results, args), command_line())
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
