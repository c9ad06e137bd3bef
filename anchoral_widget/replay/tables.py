"""A researcher's view of a :class:`~anchoral_widget.replay.comparison.Comparison`, as tables:
the anchors of an iteration, its subpool and its batch with why the strategy picked what it
picked (score, the model's uncertainty and minority probability, the anchor that retrieved each
item), and all the map knows of one point. ``Comparison.anchors_table``, ``subpool_table``,
``batch_table`` and ``point`` are these functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError
from ..views.mapstate import MapState, retrieving_anchor

if TYPE_CHECKING:
    from .comparison import Comparison


def _anchor_words(comparison: Comparison, anchor: int) -> str:
    if anchor < 0:
        return ""
    words = f"#{anchor} {comparison.labels[anchor]}"
    if comparison.texts is not None:
        words += f": {comparison.texts[anchor]}"
    return words


def _minority_column(comparison: Comparison) -> str:
    return f"P({comparison.minority[0]})" if len(comparison.minority) == 1 else "P(minority)"


def anchors_table(comparison: Comparison, name: str, t: int):
    """``Comparison.anchors_table``: the anchors of iteration ``t``, by class."""
    import pandas as pd

    run, t = comparison.run(name), comparison.clamp(name, t)
    record = run.loop.history[t]
    batch_via = comparison.state(name, t).batch.values
    rows = {
        "anchor": record.anchor_ids,
        "class": [str(c) for c in record.anchor_classes],
        "batch items it retrieved": [int(np.sum(batch_via == a)) for a in record.anchor_ids],
    }
    if comparison.texts is not None:
        rows["text"] = [comparison.texts[i] for i in record.anchor_ids]
    return pd.DataFrame(rows).sort_values("class", kind="stable").reset_index(drop=True)


def subpool_table(comparison: Comparison, name: str, t: int, *, top: int | None = 15, by: str = "score"):
    """``Comparison.subpool_table``: the subpool of iteration ``t``, best first ``by`` score or
    uncertainty."""
    if by not in ("score", "uncertainty"):
        raise InputError(f"by must be 'score' or 'uncertainty', got {by!r}")
    run, t = comparison.run(name), comparison.clamp(name, t)
    if run.loop.config["pool_filter"] == "none":
        raise InputError(f"run {name!r} has no subpool: its strategy scores the whole pool")
    state = comparison.state(name, t)
    ids = _subpool_order(state)
    if by == "uncertainty":
        ids = ids[np.argsort(-comparison.uncertainty_scores(name, t, ids), kind="stable")]
    if top is not None:
        ids = ids[:top]
    return _items_frame(comparison, name, t, state, ids, first=["subpool rank", "id"])


def batch_table(comparison: Comparison, name: str, t: int):
    """``Comparison.batch_table``: the batch of iteration ``t``, in the order the strategy
    picked it."""
    state = comparison.state(name, comparison.clamp(name, t))
    return _items_frame(comparison, name, t, state, state.batch.ids, first=["batch rank", "id"])


def _subpool_order(state: MapState) -> np.ndarray:
    """The subpool's ids, best AnchorAL score first (as they were chosen)."""
    sub = state.subpool
    return sub.ids if sub.values is None else sub.ids[np.argsort(-sub.values, kind="stable")]


def _uncertainty_column(comparison: Comparison, name: str) -> str:
    return f"uncertainty ({comparison.uncertainty_name(name)})"


def _items_frame(comparison: Comparison, name: str, t: int, state: MapState, ids: np.ndarray, first: list[str]):
    """One row per item of ``ids``; the columns ``first`` first."""
    import pandas as pd

    ids = np.asarray(ids, dtype=np.int64)
    batch_rank = {int(i): k for k, i in enumerate(state.batch.ids.tolist(), 1)}
    subpool_rank = {int(i): k for k, i in enumerate(_subpool_order(state).tolist(), 1)}
    scores = {} if state.subpool.values is None else dict(zip(state.subpool.ids.tolist(), state.subpool.values))
    if np.array_equal(ids, state.batch.ids):
        via = state.batch.values
        assert via is not None  # map_state gives every batch item the anchor that retrieved it
    else:
        via = retrieving_anchor(comparison.run(name).loop.embeddings, ids, state.anchors.ids)
    empty = len(ids) == 0
    uncertainty: list | np.ndarray = [] if empty else np.round(comparison.uncertainty_scores(name, t, ids), 3)
    minority: list | np.ndarray = [] if empty else np.round(comparison.minority_probability(name, t, ids), 3)
    columns = {
        "subpool rank": pd_int([subpool_rank.get(int(i)) for i in ids]),
        "id": ids,
        "score": [round(float(scores[int(i)]), 3) if int(i) in scores else None for i in ids],
        _uncertainty_column(comparison, name): uncertainty,
        _minority_column(comparison): minority,
        "batch rank": pd_int([batch_rank.get(int(i)) for i in ids]),
        "label (oracle)": [str(c) for c in comparison.labels[ids]],
    }
    if comparison.texts is not None:
        columns["text"] = [str(comparison.texts[int(i)]) for i in ids]
    columns["retrieved by (anchor)"] = [_anchor_words(comparison, int(a)) for a in via]
    if state.subpool.values is None:
        del columns["score"]
    if not subpool_rank:
        del columns["subpool rank"]  # the none filter: the whole pool
        first = [c for c in first if c != "subpool rank"]
    order = first + [c for c in columns if c not in first]
    return pd.DataFrame({c: columns[c] for c in order})


def point(comparison: Comparison, name: str, t: int, item: int) -> dict:
    """``Comparison.point``: all the map of iteration ``t`` knows of pool item ``item``."""
    t = comparison.clamp(name, t)
    state = comparison.state(name, t)
    item = int(item)
    if not 0 <= item < len(comparison.labels):
        raise InputError(f"no pool item {item} (the pool has ids 0 to {len(comparison.labels) - 1})")
    out: dict = {"id": item, "iteration": t, "label (oracle)": str(comparison.labels[item])}
    layers = [n for n in ("labelled", "anchors", "subpool", "batch") if item in getattr(state, n).ids]
    out["layers"] = layers or ["pool"]
    if "subpool" in layers or "batch" in layers:
        order = _subpool_order(state).tolist()
        if item in order:
            out["subpool rank"] = f"{order.index(item) + 1} of {len(order):,}"
        if state.subpool.values is not None and item in order:
            out["score"] = round(float(state.subpool.values[state.subpool.ids.tolist().index(item)]), 3)
        ids = np.array([item])
        out[f"uncertainty ({comparison.uncertainty_name(name)})"] = round(
            float(comparison.uncertainty_scores(name, t, ids)[0]), 3
        )
        out[_minority_column(comparison)] = round(float(comparison.minority_probability(name, t, ids)[0]), 3)
        anchor = int(retrieving_anchor(comparison.run(name).loop.embeddings, ids, state.anchors.ids)[0])
        if "batch" in layers:
            k = state.batch.ids.tolist().index(item)
            out["batch rank"] = f"{k + 1} of {len(state.batch)}"
            batch_anchors = state.batch.values
            assert batch_anchors is not None  # map_state gives every batch item its anchor
            anchor = int(batch_anchors[k])
        if anchor >= 0:
            out["retrieved by (anchor)"] = _anchor_words(comparison, anchor)
    if comparison.texts is not None:
        out["text"] = str(comparison.texts[item])
    return out


def pd_int(values):
    """Integers with gaps, as pandas shows them (a nullable integer column)."""
    import pandas as pd

    return pd.array(values, dtype="Int64")
