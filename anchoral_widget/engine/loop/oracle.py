"""Answering the loop's batches with an oracle that knows every label: a simulated annotator."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ...errors import InputError

if TYPE_CHECKING:
    from .active import ActiveLoop
    from .records import IterationRecord

Oracle = Callable[[np.ndarray], list[Any]]


def as_oracle(oracle: Oracle | Sequence[Any] | np.ndarray) -> Oracle:
    """A callable ids -> class names, from a callable or a sequence of every item's class."""
    if callable(oracle):
        return oracle
    truth = np.asarray(oracle, dtype=object)
    return lambda ids: [v.item() if isinstance(v, np.generic) else v for v in truth[np.asarray(ids, dtype=np.int64)]]


def run_oracle(
    loop: ActiveLoop, oracle: Oracle | Sequence[Any] | np.ndarray, budget: int, *, progress: bool = False
) -> list[IterationRecord]:
    """Propose and answer batches until ``budget`` more items are labelled (the last batch is
    cut to fit). Each record gets the minority share of its subpool from the oracle."""
    ask = as_oracle(oracle)
    if budget < 1:
        raise InputError(f"budget must be at least 1, got {budget}")
    if budget > loop.unlabelled_count:
        raise InputError(f"budget {budget} is larger than the {loop.unlabelled_count} unlabelled items")
    start = len(loop.history)
    acquired = 0
    steps: Iterable[int] = range(math.ceil(budget / loop.config["batch_size"]))
    if progress:
        from tqdm.auto import tqdm

        steps = tqdm(steps, desc=f"simulate {loop.config['pool_filter']}", unit="batch")
    for _ in steps:
        if acquired >= budget:
            break
        proposal = loop.propose(batch_size=min(loop.config["batch_size"], budget - acquired))
        # Compared by name, vectorised: for the full pool this is a million items an iteration.
        subpool_truth = np.asarray(ask(proposal.subpool_ids), dtype=object)
        minority_names = np.asarray(loop.minority, dtype=object)
        share = float(np.isin(subpool_truth, minority_names).mean()) if len(subpool_truth) else float("nan")
        loop.label(proposal.batch_ids, ask(proposal.batch_ids))
        acquired += len(proposal.batch_ids)
        loop.history[-1].minority_in_subpool = share
    return loop.history[start:]
