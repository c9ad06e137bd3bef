"""The ``anchoral`` command: headless simulation (and the way outside checks read the loop)."""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from ..engine.method.filters import POOL_FILTERS
from ..engine.method.strategies import STRATEGIES
from ..errors import AnchorALError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="anchoral", description="AnchorAL active learning, headless.")
    sub = parser.add_subparsers(dest="command", required=True)

    sim = sub.add_parser("simulate", help="run the loop with an oracle holding the true labels")
    source = sim.add_mutually_exclusive_group(required=True)
    source.add_argument("--embeddings", help="pool embeddings, .npy (n x d)")
    source.add_argument("--texts", help="a CSV, parquet or JSONL file of texts and labels (encoded with --model)")
    source.add_argument("--dataset", help="a bundled dataset (see `anchoral datasets`)")
    sim.add_argument("--labels", help="pool labels, .npy (with --embeddings)")
    sim.add_argument("--text-column", default="text")
    sim.add_argument("--label-column", default="label")
    sim.add_argument("--model", default=None, help="sentence-transformers model path (default: bundled MiniLM)")
    sim.add_argument("--test-embeddings")
    sim.add_argument("--test-labels")
    sim.add_argument("--max-size", type=int, default=None, help="subsample a bundled dataset's pool")
    sim.add_argument("--minority", nargs="+", default=None, help="minority classes (default: the dataset's)")
    sim.add_argument("--filter", default="anchoral", choices=POOL_FILTERS)
    sim.add_argument("--strategy", default="entropy", choices=STRATEGIES)
    sim.add_argument("--learner", default="logreg", choices=("logreg", "transformer"))
    sim.add_argument("--anchors-per-class", type=int, default=10)
    sim.add_argument("--anchor-strategy", default="kmeans++", choices=("kmeans++", "random", "entropy"))
    sim.add_argument("--neighbours", type=int, default=50)
    sim.add_argument("--subpool-size", type=int, default=None, help="M (default 1000; 10000 for randsub)")
    sim.add_argument(
        "--outside-sample",
        type=int,
        default=None,
        help="anchoral: items from beyond the anchors' neighbourhoods in each subpool (default 5000; 0: the paper's)",
    )
    sim.add_argument("--batch-size", type=int, default=25)
    sim.add_argument("--budget", type=int, default=500)
    sim.add_argument("--initial-size", type=int, default=100)
    sim.add_argument("--initial-minority-per-class", type=int, default=5)
    sim.add_argument("--index", default="auto", choices=("auto", "hnsw", "exact"))
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument("--trace", help="write the run as JSON here")
    sim.add_argument("--quiet", action="store_true", help="no progress bars")

    sub.add_parser("datasets", help="list the bundled datasets")
    return parser


def _labels_from_npy(path: str) -> np.ndarray:
    values = np.load(path, allow_pickle=False)
    if values.ndim != 1:
        raise AnchorALError(f"{path}: labels must be a 1-d array, got shape {values.shape}")
    return values


def _plain_list(values) -> list:
    return [v.item() if isinstance(v, np.generic) else v for v in values]


def _load(args):
    """-> embeddings, labels, test (X, y) or None, classes, default minority, texts."""
    if args.embeddings:
        if not args.labels:
            raise AnchorALError("--embeddings needs --labels")
        X = np.load(args.embeddings, allow_pickle=False)
        y = _labels_from_npy(args.labels)
        if len(y) != len(X):
            raise AnchorALError(f"{len(X)} embeddings but {len(y)} labels")
        test = None
        if args.test_embeddings or args.test_labels:
            if not (args.test_embeddings and args.test_labels):
                raise AnchorALError("--test-embeddings and --test-labels go together")
            test = (np.load(args.test_embeddings, allow_pickle=False), _labels_from_npy(args.test_labels))
        y_all = y if test is None else np.concatenate([y, test[1]])
        classes = sorted(set(_plain_list(y_all)), key=str)
        return X, _plain_list(y), test, classes, None, None

    from ..data.datasets import from_frame, load_dataset, read_table
    from ..engine.vectors.encoder import Encoder

    if args.dataset:
        data = load_dataset(args.dataset, seed=args.seed, max_size=args.max_size)
    else:
        data = from_frame(read_table(args.texts), args.text_column, args.label_column, seed=args.seed)
    encoder = Encoder(args.model, progress=not args.quiet)
    X = encoder.encode(data.texts)
    test = None
    if len(data.test_texts):
        # The test set in the learner's own inputs: texts for the transformer, vectors otherwise.
        features = list(data.test_texts) if args.learner == "transformer" else encoder.encode(data.test_texts)
        test = (features, np.asarray(data.test_labels))
    return X, _plain_list(data.labels), test, list(data.classes), list(data.minority), data.texts


def simulate(args) -> int:
    from ..engine.loop.active import ActiveLoop
    from .simulation import initial_sample, trace, write_json

    X, y, test, classes, default_minority, texts = _load(args)
    minority = args.minority or default_minority
    if minority is None:
        counts = {c: y.count(c) for c in classes}
        minority = [c for c in classes if c != max(counts, key=counts.__getitem__)]
    # Labels typed on the command line are strings; match them to integer classes too.
    by_text = {str(c): c for c in classes}
    minority = [by_text.get(str(m), m) for m in minority]

    learner = args.learner
    if learner == "transformer":
        from ..engine.learners.transformer import TransformerClassifier

        learner = TransformerClassifier(args.model, minority=[classes.index(m) for m in minority if m in classes])
        if texts is None:
            raise AnchorALError("the transformer learner needs texts: use --texts or --dataset")
    loop = ActiveLoop(
        X,
        classes=classes,
        minority=minority,
        pool_filter=args.filter,
        strategy=args.strategy,
        learner=learner,
        batch_size=args.batch_size,
        anchors_per_class=args.anchors_per_class,
        neighbours=args.neighbours,
        subpool_size=args.subpool_size,
        outside_sample=args.outside_sample,
        anchor_strategy=args.anchor_strategy,
        index=args.index,
        cache_dir=_cache_dir(),
        texts=texts,
        test=test,
        seed=args.seed,
    )
    initial = initial_sample(y, minority, args.initial_size, args.initial_minority_per_class, seed=args.seed)
    loop.label(initial, [y[i] for i in initial])
    started = time.perf_counter()
    loop.simulate(y, args.budget, progress=not args.quiet)
    wall = time.perf_counter() - started
    loop.model_ = loop.train()  # evaluate the model trained on everything labelled
    result = trace(loop, initial, loop.evaluate())
    result["summary"]["wall_seconds"] = wall
    _print_table(result)
    if args.trace:
        write_json(args.trace, result)
        print(f"trace written to {args.trace}")
    return 0


def _cache_dir():
    from ..engine.vectors.encoder import default_cache_dir

    return default_cache_dir()


def _fmt(value, spec=".3f") -> str:
    return "-" if value is None else format(value, spec)


def _print_table(result: dict) -> None:
    cfg = result["config"]
    print(
        f"pool {cfg['pool_size']}  filter {cfg['pool_filter']}  strategy {cfg['strategy']}  "
        f"minority {cfg['minority']}  b={cfg['batch_size']} A={cfg['anchors_per_class']} "
        f"K={cfg['neighbours']} M={cfg['subpool_size']} outside={cfg['outside_sample']} seed={cfg['seed']}"
    )
    print(f"{'iter':>4} {'labelled':>8} {'min.lab':>7} {'min.sub':>7} {'minF1':>6} {'majF1':>6} {'secs':>7}")
    for it in result["iterations"]:
        test = it.get("test") or {}
        print(
            f"{it['iteration']:>4} {it['labelled_count']:>8} {_fmt(it['minority_in_labelled']):>7} "
            f"{_fmt(it['minority_in_subpool']):>7} {_fmt(test.get('minority_f1')):>6} "
            f"{_fmt(test.get('majority_f1')):>6} {it['seconds']['total']:>7.3f}"
        )
    s = result["summary"]
    print(
        f"minority found {s['minority_found']}  AUC(minority F1) {_fmt(s['auc_minority_f1'])} "
        f"(normalised {_fmt(s['auc_minority_f1_normalised'])})  selection {s['total_selection_seconds']:.2f}s"
    )


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "simulate":
            return simulate(args)
        if args.command == "datasets":
            from ..data.datasets import available_datasets

            for name, description in available_datasets().items():
                print(f"{name:20} {description}")
            return 0
    except (AnchorALError, FileNotFoundError) as err:
        print(f"anchoral: error: {err}", file=sys.stderr)
        return 2
    return 1


if __name__ == "__main__":
    sys.exit(main())
