"""One iteration of the loop: train (or take a model fitted ahead), choose anchors and cut the
subpool, let the strategy pick the batch, and record it all as a :class:`~.records.Proposal`;
and how a model is fitted on the labelled set and scored on the held-out set.

Everything random is drawn from the loop's generators for this iteration, and the labelled set
is read in id order, so the same labelled set at the same iteration gives the same proposal.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ..learners.learner import BoundModel, Trained, fit_learner, take
from ..learners.metrics import evaluate, minority_proportion
from ..method.filters import PoolState
from ..method.strategies import Random, entropy
from .records import Proposal

if TYPE_CHECKING:
    from .active import ActiveLoop


def propose_batch(
    loop: ActiveLoop, b: int, on_stage: Callable[[str], object] | None, trained: Trained | None
) -> tuple[Proposal, Trained]:
    """The next batch of ``b`` items and the model that chose it (see
    :meth:`~.active.ActiveLoop.propose`); the loop records neither."""
    t0 = time.perf_counter()
    if trained is None:
        if on_stage:
            on_stage("training")
        model = loop.train()
        trained = Trained(model, loop.labelled_count, time.perf_counter() - t0)
    model = trained.model
    t1 = time.perf_counter()
    if on_stage:
        on_stage("selecting")
    features = loop.embeddings if trained.stand_in else loop.pool.features(loop.learner)
    bound = None if model is None else BoundModel(model, features)
    subpool = loop.pool_filter(pool_state(loop, bound))
    t2 = time.perf_counter()
    # With no model yet, uncertainty means nothing: pick at random from the subpool.
    strategy = loop.strategy if bound is not None else Random()
    second = loop.second_opinions(b)  # a team's overlap: items others labelled, answered again here
    batch = np.asarray(strategy.select(bound, subpool.ids, b - len(second), loop.rng(1)), dtype=np.int64)
    t3 = time.perf_counter()

    retrieved_by = None
    if subpool.retrieved_by is not None:
        position = {int(i): k for k, i in enumerate(subpool.ids.tolist())}
        retrieved_by = np.r_[subpool.retrieved_by[[position[int(i)] for i in batch]], np.full(len(second), -1)]
    batch = np.r_[batch, second].astype(np.int64)
    n_classes = len(loop.classes)
    probs = bound.proba(batch) if bound is not None else np.full((len(batch), n_classes), 1 / n_classes)
    proposal = Proposal(
        iteration=loop.iteration,
        batch_ids=batch,
        subpool_ids=subpool.ids,
        subpool_scores=subpool.scores,
        anchor_ids=subpool.anchor_ids,
        anchor_classes=subpool.anchor_classes,
        batch_proba=probs,
        seconds={
            "train": trained.waited,
            "subpool": t2 - t1,
            "strategy": t3 - t2,
            "total": trained.waited + t3 - t1,
        },
        labelled_count=loop.labelled_count,
        minority_in_labelled=minority_proportion(loop.labelled_classes, loop.minority_indices),
        # the test set is held as the learner's features: a stand-in cannot read them
        test=None if trained.stand_in else loop.evaluate(model),
        events_seen=len(loop.events),
        batch_retrieved_by=retrieved_by,
        model_labelled=None if model is None else int(trained.labelled),
        model_stand_in=trained.stand_in,
        second_ids=second,
    )
    return proposal, trained


def pool_state(loop: ActiveLoop, bound: BoundModel | None) -> PoolState:
    """What a pool filter sees of the loop now: the labelled set in id order, what is out of
    reach (labelled, skipped, or not yet encoded) and the index where the filter queries one."""
    needs_index = loop.config["pool_filter"] in ("anchoral", "seals") and loop.labelled_count > 0
    ids, classes = loop.labelled_in_id_order()
    labelled_entropy: Callable[[], np.ndarray] | None = None
    if bound is not None:
        labelled_entropy = lambda: entropy(bound.proba(ids))
    missing, held = loop.pool.missing, loop.held_for_others()
    excluded = loop.excluded if missing is None else loop.excluded | missing
    if len(held):  # someone else's open batch (a shared store): theirs to answer
        excluded = excluded.copy()
        excluded[held] = True
    return PoolState(
        embeddings=loop.embeddings,
        index=loop.index if needs_index else None,
        excluded=excluded,
        labelled_ids=ids,
        labelled_classes=classes,
        n_classes=len(loop.classes),
        minority=loop.minority_indices,
        rng=loop.rng(0),
        labelled_entropy=labelled_entropy,
        reusable=not len(held),
    )


def neighbours_ahead(loop: ActiveLoop, batch_ids: Any) -> Callable[[], None] | None:
    """A job that fetches ahead the neighbour lists the next proposal will read once
    ``batch_ids`` are answered, those of the labelled items and of the batch's (see
    :meth:`~..method.filters.AnchorAL.prefetch`), or None when the filter keeps none. Call it
    holding the loop; the job reads only a snapshot taken now, so it may run on another thread
    while the loop moves on (it changes no answer, only the wait)."""
    prefetch = getattr(loop.pool_filter, "prefetch", None)
    if prefetch is None:
        return None
    state = pool_state(loop, None)
    excluded = state.excluded.copy()
    excluded[np.asarray(batch_ids, dtype=np.int64)] = True
    state.excluded, state.index = excluded, loop.index
    # every labelled item may be an anchor next time; those listed already cost nothing
    items = np.union1d(state.labelled_ids, np.asarray(batch_ids, dtype=np.int64))
    return lambda: prefetch(state, items)


def train(loop: ActiveLoop) -> Any:
    """Fit the loop's learner on its labelled set in id order (see :meth:`~.active.ActiveLoop.train`)."""
    ids, classes = loop.labelled_in_id_order()
    if not len(ids):  # nothing labelled, or every label's vector is still to come (a pool arriving in parts)
        return None
    features = loop.pool.features(loop.learner)
    n_classes, minority = len(loop.classes), sorted(loop.minority_indices)
    X = take(features, ids)
    return fit_learner(
        loop.learner, X, classes, n_classes, loop.seed, minority=minority, **unlabelled_rows(loop, features)
    )


def unlabelled_rows(loop: ActiveLoop, features: Any, draw: Callable[[int], np.ndarray] | None = None) -> dict[str, Any]:
    """``{"unlabelled": rows}`` of a random sample of unlabelled items for a learner that asks
    for one (``unlabelled_sample``; see :class:`~..learners.learner.EmbeddingClassifier`), else
    nothing: the keywords to add to its fit. ``draw(size)`` gives the ids (the loop's sample now
    by default)."""
    size = getattr(loop.learner, "unlabelled_sample", 0)
    if not size:
        return {}
    return {"unlabelled": take(features, (draw or loop.unlabelled_sample)(size))}


def evaluate_model(loop: ActiveLoop, model: Any) -> dict[str, Any] | None:
    """Minority, majority and per-class F1 of ``model`` on the loop's held-out set; None
    without a held-out set or a model."""
    if loop.test is None or model is None:
        return None
    X, y = loop.test
    predicted = BoundModel(model, X).predicted(np.arange(len(y)))
    return evaluate(y, predicted, sorted(loop.minority_indices), loop.classes)
