"""A labelling session with the fine-tuned transformer, scripted: label-ahead against strict.

A ``LabelSession`` is driven as the widget drives it (cards on screen, answers, submit) by a
scripted annotator who answers with the true labels and takes ``--pace`` seconds per batch (a
person reading 25 short texts). Learner: ``TransformerClassifier`` on the bundled
all-MiniLM-L6-v2 with the paper's recipe (re-initialised every fit) or warm started. Pool: a
``--pool``-text stratified sample of a bundled dataset (1% minority kept), AnchorAL, entropy,
A=10, K=50, M=1,000, b=25, start: the paper's 100 labels (5 minority).

Measured per run:

1. the wait after each submit: from ``submit`` until the next batch is on screen;
2. the age of the model that proposed each batch: labels it had not been trained on;
3. the minority items found (beyond the start), and the minority F1 on the test set of the model
   the session ends with (strict: fitted on every label; label-ahead: the latest that finished);
4. for strict runs, the minority F1 of each iteration's model (the paper's learning curve) and
   its AUC (trapezoid, dx=1), for warm start against re-initialisation; the fit seconds.

Then the like-for-like ratios of ``transformer_regime.py`` (wait = fit + per-item cost x items
scored, anchoral 1,000 items, randsub 10,000, none the 100k pool less 100) with the fit times
measured here and a per-item cost measured in this run.

    nice -n 10 .venv/bin/python benchmarks/transformer_session.py > LOG 2>&1 &

Runs are given as ``dataset:mode:init:batches``, e.g. ``icd10-eye:ahead:reinit:10``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, command_line, markdown_table, write_section
from transformer_regime import NONE_RATIO_TARGET, RANDSUB_RATIO_TARGET

DEFAULT_RUNS = (
    "icd10-eye:ahead:warm:10",
    "icd10-eye:ahead:reinit:10",
    "icd10-eye:strict:warm:10",
    "icd10-eye:strict:reinit:10",
    "tweets-sentiment:strict:warm:10",
    "tweets-sentiment:strict:reinit:10",
)


def load(name: str, pool: int):
    """The dataset capped to ``pool`` texts, its embeddings (cached) and the encoder."""
    from anchoral_widget.data.datasets import load_dataset
    from anchoral_widget.engine.vectors.encoder import Encoder

    data = load_dataset(name, seed=0, max_size=pool)
    encoder = Encoder("minilm", progress=False)  # the vectors AnchorAL retrieves with: MiniLM's
    X = np.asarray(encoder.encode(data.texts))
    print(f"{name}: pool {len(data.texts)}, test {len(data.test_texts)}, minority {data.minority}", flush=True)
    return data, X, encoder


def minority_f1_of(model, data) -> float:
    from anchoral_widget.engine.learners.learner import BoundModel
    from anchoral_widget.engine.learners.metrics import minority_f1

    predicted = BoundModel(model, list(data.test_texts)).proba(np.arange(len(data.test_texts))).argmax(axis=1)
    return float(minority_f1(data.y_test, predicted, data.minority_ids, len(data.classes)))


def run_session(data, X, encoder, mode: str, init: str, batches: int, args) -> dict:
    """One scripted session; returns its measurements."""
    from anchoral_widget.engine.learners.metrics import auc
    from anchoral_widget.engine.learners.transformer import TransformerClassifier
    from anchoral_widget.replay.simulation import initial_sample
    from anchoral_widget.session.startup import build_session

    learner = TransformerClassifier(args.model, warm_start=init == "warm", warm_epochs=args.warm_epochs)
    start_ids = initial_sample(data.labels, data.minority, size=100, per_minority_class=5, seed=args.seed)
    truth = np.asarray(data.labels, dtype=object)
    session = build_session(
        data.texts,
        data.classes,
        data.minority,
        embeddings=X,
        encoder=encoder,
        seed_labels={int(i): truth[i] for i in start_ids},
        learner=learner,
        training=mode,
        store=None,
        seed=args.seed,
        index="exact",
    )
    rows, curve = [], []
    t0 = time.perf_counter()
    session.start()
    assert session.wait(3600)
    first_wait = time.perf_counter() - t0
    trainer = session._trainer
    for k in range(batches):
        s = session.snapshot()
        if s["phase"] != "ready":
            raise RuntimeError(f"no batch to label: {s['phase']}: {s['status']} {s['error']}")
        ids = [c["id"] for c in s["batch"]]
        model_labelled = s["batch"][0]["model_labelled"]
        if mode == "strict":  # the paper's curve: the model of this iteration on the test set
            curve.append(minority_f1_of(trainer.latest.model, data))
        answered_at = time.perf_counter()
        for cls in sorted(set(truth[ids])):
            session.label([i for i in ids if truth[i] == cls], cls, iteration=s["iteration"])
        if mode == "ahead":  # the person reads the batch meanwhile; the fit runs
            time.sleep(max(0.0, args.pace - (time.perf_counter() - answered_at)))
        t = time.perf_counter()
        session.submit(iteration=s["iteration"])
        assert session.wait(3600)
        wait = time.perf_counter() - t
        after = session.snapshot()
        labelled = after["progress"]["labelled"]
        new_model = after["batch"][0]["model_labelled"] if after["batch"] else None
        memo = trainer.latest.model if trainer.latest is not None else None
        rows.append(
            {
                "batch": k + 1,
                "wait": wait,
                "labelled": labelled,
                "model_labelled": new_model,
                "stand_in": bool(after["batch"][0].get("model_stand_in")) if after["batch"] else False,
                "age": None if new_model is None else labelled - new_model,
                "proposed_by_before": model_labelled,
                "status": after["status"],
                "scored_total": getattr(memo, "computed", None),
            }
        )
        print(
            f"  batch {k + 1}: wait {wait:.2f} s, labelled {labelled}, model on {new_model} ({after['status']})",
            flush=True,
        )
    loop = session.loop
    minority = set(data.minority)
    found = sum(1 for i, c in loop.labels.items() if c in minority and i not in set(start_ids.tolist()))
    final = trainer.latest  # the model the session ends with (strict: of every label)
    final_f1 = float("nan") if final is None else minority_f1_of(final.model, data)
    if mode == "strict":
        curve.append(final_f1)
    fits = list(trainer.fits)
    session.close(wait=True)
    return {
        "mode": mode,
        "init": init,
        "batches": batches,
        "first_wait": first_wait,
        "rows": rows,
        "found": found,
        "final_minority_f1": final_f1,
        "final_labelled": None if final is None else final.labelled,
        "curve": curve,
        "auc": auc(curve) if len(curve) > 1 else None,
        "fits": fits,
        "seconds": time.perf_counter() - t0,
    }


def per_item_ms(data, args) -> float:
    """Milliseconds per item of a forward pass over ``--sample`` pool texts, after one fit."""
    from anchoral_widget.engine.learners.transformer import TransformerClassifier

    rng = np.random.default_rng(args.seed)
    pick = rng.choice(len(data.texts), size=min(args.sample + 100, len(data.texts)), replace=False)
    y = np.isin(np.asarray(data.labels)[pick[:100]], data.minority).astype(np.int64)
    y[:5] = 1  # the minority present, as in the start set
    model = TransformerClassifier(args.model, max_epochs=1, min_steps=1).fit(
        [data.texts[i] for i in pick[:100]], y, 2, args.seed
    )
    sample = [data.texts[i] for i in pick[100:]]
    model.predict_proba(sample[:32])  # warm-up
    t = time.perf_counter()
    model.predict_proba(sample)
    return (time.perf_counter() - t) / len(sample) * 1000


def ratios(fit: float, per_ms: float, pool: int = 100_000) -> tuple[float, float]:
    per = per_ms / 1000
    anchoral, randsub, none = fit + per * 1000, fit + per * 10_000, fit + per * (pool - 100)
    return none / anchoral, randsub / anchoral


def render(results: dict, per_item: dict, args, threads: int, torch_version: str) -> str:
    lines = [
        "## A labelling session with the fine-tuned transformer: label-ahead against strict",
        "",
        f"`benchmarks/transformer_session.py`: a `LabelSession` driven as the widget drives it, by a scripted "
        f"annotator who answers with the true labels. Learner: `TransformerClassifier` on the bundled "
        f"all-MiniLM-L6-v2 (CPU, torch {torch_version}, {threads} torch thread{'s' if threads != 1 else ''}), the paper's recipe (AdamW 4e-5, "
        "batch 32, 10 epochs, at least 100 steps, best epoch on training minority F1, patience 10) re-initialised "
        f"every fit (`reinit`), or warm started (`warm`: {args.warm_epochs} epochs from the last weights, no step "
        f"minimum). Pool: {args.pool:,} texts of each dataset (stratified, 1% minority kept), AnchorAL, entropy, "
        "A=10, K=50, M=1,000, b=25; start: 100 labels (5 minority). Label-ahead (`ahead`) runs: the annotator "
        f"takes {args.pace:.0f} s per batch while the fit runs in the background; strict runs: answers at once "
        "(their waits are the fits). Final minority F1: on the dataset's test set, of the model the session ends "
        "with (strict: fitted on every label; label-ahead: the latest that finished, on the labels in brackets).",
        "",
    ]
    table = []
    for key, r in results.items():
        waits = [row["wait"] for row in r["rows"]]
        ages = [row["age"] for row in r["rows"] if row["age"] is not None]
        cold = [f["seconds"] for f in r["fits"] if not f["warm"]]
        warm = [f["seconds"] for f in r["fits"] if f["warm"]]
        table.append(
            [
                key,
                r["batches"],
                r["first_wait"],
                float(np.median(waits)) if waits else None,
                max(waits) if waits else None,
                sum(w > 2 for w in waits),
                sum(row["model_labelled"] is None for row in r["rows"]),
                sum(bool(row.get("stand_in")) for row in r["rows"]),
                float(np.mean(ages)) if ages else None,
                max(ages) if ages else None,
                len(r["fits"]),
                float(np.median(cold)) if cold else None,
                float(np.median(warm)) if warm else None,
                r["found"],
                f"{r['final_minority_f1']:.3f} ({r['final_labelled']})",
                r["auc"],
            ]
        )
    lines += [
        markdown_table(
            [
                "run (dataset:mode:init)",
                "batches",
                "first batch (s)",
                "median wait after submit (s)",
                "max wait (s)",
                "waits > 2 s",
                "batches at random (no model yet)",
                "batches by the embedding model (until the first fit)",
                "mean model age (labels)",
                "max age",
                "fits",
                "median re-initialised fit (s)",
                "median warm fit (s)",
                "minority found",
                "final minority F1 (its labels)",
                "strict: minority-F1 AUC",
            ],
            table,
        ),
        "",
        "Per batch (wait after the submit, and the labels of the model that proposed the next batch):",
        "",
    ]
    for key, r in results.items():
        cells = ", ".join(f"{row['wait']:.1f} s / {_proposer(row)}" for row in r["rows"])
        lines.append(f"- `{key}`: {cells}")
    lines.append("")
    curves = {k: r for k, r in results.items() if r["mode"] == "strict"}
    if curves:
        lines += ["Strict runs, minority F1 of each iteration's model (the paper's learning curve):", ""]
        for key, r in curves.items():
            lines.append(f"- `{key}`: " + ", ".join(f"{v:.3f}" for v in r["curve"]))
        lines.append("")
    fit_of: dict[str, list[float]] = {"reinit": [], "warm": []}
    for r in results.values():
        for f in r["fits"]:
            fit_of["warm" if f["warm"] else "reinit"].append(f["seconds"])
    if per_item:
        lines += ["### The like-for-like ratios of `transformer_regime.py`, with the fits measured here", ""]
        rows = []
        per = per_item.get("tweets-sentiment", next(iter(per_item.values())))
        for label, fit in (
            ("strict, re-initialised", np.median(fit_of["reinit"]) if fit_of.get("reinit") else None),
            ("strict, warm start", np.median(fit_of["warm"]) if fit_of.get("warm") else None),
            ("label-ahead (the fit off the wait)", 0.0),
        ):
            if fit is None:
                continue
            none_r, rand_r = ratios(float(fit), per)
            rows.append([label, float(fit), per, none_r, rand_r])
        lines += [
            markdown_table(
                ["regime", "fit in the wait (s)", "ms per item", "none / anchoral", "randsub / anchoral"], rows
            ),
            "",
            "wait = fit + per-item cost x items scored (anchoral 1,000, randsub 10,000, none 99,900 at 100k), as "
            "in `transformer_regime.py`'s like-for-like line; per-item costs measured in this run: "
            + ", ".join(f"{k} {v:.2f} ms" for k, v in per_item.items())
            + f". Targets: none / anchoral >= {NONE_RATIO_TARGET}x, randsub / anchoral >= {RANDSUB_RATIO_TARGET}x.",
            "",
        ]
    lines += ["No GPU on this machine: the `gpu` test and GPU figures were not run here.", ""]
    return "\n".join(lines)


def _proposer(row: dict) -> str:
    if row["model_labelled"] is None:
        return "random"
    return f"embedding model {row['model_labelled']}" if row.get("stand_in") else str(row["model_labelled"])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default=",".join(DEFAULT_RUNS))
    parser.add_argument("--pool", type=int, default=2000)
    parser.add_argument("--pace", type=float, default=20.0, help="seconds the annotator takes per batch (ahead)")
    parser.add_argument("--warm-epochs", type=int, default=3)
    parser.add_argument("--sample", type=int, default=500, help="texts scored to time the forward pass")
    parser.add_argument("--per-item", default="tweets-sentiment,icd10-eye", help="datasets to time it on")
    parser.add_argument("--model", default=None, help="a local model path (default: the bundled MiniLM)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument(
        "--add", action="store_true", help="keep the runs already in the results file (a run given again is replaced)"
    )
    args = parser.parse_args(argv)

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    from anchoral_widget.data.datasets import load_dataset

    runs = [r.split(":") for r in args.runs.split(",") if r]
    loaded, results, per_item = {}, {}, {}
    json_path = RESULTS / "transformer_session.json"
    commands = [command_line()]
    if args.add and json_path.exists():
        earlier = json.loads(json_path.read_text())
        results = earlier["results"]
        commands = [*earlier.get("commands", []), *commands]
    for name in filter(None, args.per_item.split(",")):
        per_item[name] = per_item_ms(load_dataset(name, seed=0, max_size=args.pool), args)
        print(f"{name}: {per_item[name]:.2f} ms per item", flush=True)
    for name, mode, init, batches in runs:
        if name not in loaded:
            loaded[name] = load(name, args.pool)
        key = f"{name}:{mode}:{init}"
        print(f"{key}: {batches} batches", flush=True)
        results[key] = run_session(*loaded[name], mode, init, int(batches), args)
        r = results[key]
        print(
            f"{key}: found {r['found']}, final minority F1 {r['final_minority_f1']:.3f}, AUC {r['auc']}, "
            f"fits {[(f['labelled'], round(f['seconds'], 1)) for f in r['fits']]}, {r['seconds']:.0f} s",
            flush=True,
        )
        if not args.no_write:
            json_path.write_text(json.dumps({"results": results, "per_item": per_item, "commands": commands}))
    text = render(results, per_item, args, torch.get_num_threads(), torch.__version__)
    print(text)
    if not args.no_write:
        write_section("transformer_session", text, "`, then `".join(commands))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
