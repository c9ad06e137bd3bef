"""The map's data, as pure functions of the loop's records: :func:`map_state` gathers one
iteration's layers (the pool, or a sample of it for a static figure; the subpool with its
scores, the labelled items, the anchors, the batch) with their 2-D positions from a
:class:`~anchoral_widget.views.projection.Projection`. How they look is :mod:`.styles`'s;
how they are drawn, :mod:`.mapfigure`'s and :mod:`.mapupdate`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

#: The layers every map state holds, bottom first.
LAYERS = ("pool", "subpool", "labelled", "anchors", "batch")


def _ids(a) -> np.ndarray:
    return np.asarray(a, dtype=np.int64).reshape(-1)


@dataclass(frozen=True)
class Layer:
    """Points of one layer: pool ids, their (n, 2) positions and one value per point (the
    subpool's score, the labelled items' and anchors' class index, the batch items' anchor)."""

    ids: np.ndarray
    xy: np.ndarray
    values: np.ndarray | None = None

    @classmethod
    def empty(cls) -> Layer:
        return cls(np.empty(0, np.int64), np.empty((0, 2), np.float32))

    def __len__(self) -> int:
        return len(self.ids)

    def same_as(self, other: Layer | None) -> bool:
        if other is not None and self.ids is other.ids and self.xy is other.xy and self.values is other.values:
            return True  # the whole pool: the projection's arrays, not compared row by row
        if other is None or not np.array_equal(self.ids, other.ids) or not np.array_equal(self.xy, other.xy):
            return False
        if (self.values is None) != (other.values is None):
            return False
        return self.values is None or other.values is None or np.array_equal(self.values, other.values)


def class_indices(layer: Layer) -> np.ndarray:
    """The class index of each point of a layer that always has them (labelled items, anchors)."""
    assert layer.values is not None
    return layer.values


@dataclass(frozen=True)
class MapState:
    """One iteration of the map: what every layer holds."""

    iteration: int
    classes: list
    minority: list
    pool: Layer = field(default_factory=Layer.empty)
    subpool: Layer = field(default_factory=Layer.empty)
    labelled: Layer = field(default_factory=Layer.empty)
    anchors: Layer = field(default_factory=Layer.empty)
    batch: Layer = field(default_factory=Layer.empty)
    #: minority items nobody has labelled yet, which only a simulation knows (None: no such layer)
    truth: Layer | None = None


def retrieving_anchor(embeddings: np.ndarray, item_ids, anchor_ids) -> np.ndarray:
    """For each item, the anchor most similar to it by cosine: the one that retrieved it with
    the highest similarity (an item in the subpool was retrieved by at least one anchor, and
    the most similar anchor retrieves it unless K others outrank it). -1 without anchors."""
    item_ids, anchor_ids = _ids(item_ids), _ids(anchor_ids)
    if len(anchor_ids) == 0 or len(item_ids) == 0:
        return np.full(len(item_ids), -1, dtype=np.int64)
    a = np.asarray(embeddings[item_ids], dtype=np.float32)
    b = np.asarray(embeddings[anchor_ids], dtype=np.float32)
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return anchor_ids[np.argmax(a @ b.T, axis=1)]


def map_state(
    projection,
    *,
    classes: Sequence,
    minority: Sequence,
    iteration: int = 0,
    labelled_ids=(),
    labelled_classes=(),
    subpool_ids=(),
    subpool_scores=None,
    anchor_ids=(),
    anchor_classes=(),
    batch_ids=(),
    embeddings: np.ndarray | None = None,
    batch_anchors=None,
    whole_pool: bool = False,
) -> MapState:
    """The layers of one iteration, placed by ``projection`` (a ready :class:`Projection`).
    Class arguments are class indices. Each batch item records the anchor that retrieved it:
    ``batch_anchors`` as the loop recorded them, else (with ``embeddings``) the most similar.
    ``whole_pool``: the pool layer holds every item (the widget's map), else the projection's
    sample (a static figure, which plotly draws point by point)."""
    pos = projection.positions
    subpool_ids, labelled_ids, anchor_ids, batch_ids = map(_ids, (subpool_ids, labelled_ids, anchor_ids, batch_ids))
    scores = None if subpool_scores is None or len(subpool_scores) == 0 else np.asarray(subpool_scores, np.float32)
    if batch_anchors is not None:
        anchor_of = _ids(batch_anchors)
    elif embeddings is not None:
        anchor_of = retrieving_anchor(embeddings, batch_ids, anchor_ids)
    else:
        anchor_of = np.full(len(batch_ids), -1, dtype=np.int64)
    return MapState(
        iteration=int(iteration),
        classes=list(classes),
        minority=list(minority),
        pool=(
            Layer(projection.pool_ids, projection.pool_xy)
            if whole_pool
            else Layer(_ids(projection.sample_ids_), np.asarray(projection.sample_xy_, np.float32))
        ),
        subpool=Layer(subpool_ids, pos(subpool_ids), scores),
        labelled=Layer(labelled_ids, pos(labelled_ids), _ids(labelled_classes)),
        anchors=Layer(anchor_ids, pos(anchor_ids), _ids(anchor_classes)),
        batch=Layer(batch_ids, pos(batch_ids), anchor_of),
    )


def map_state_from_loop(loop, projection, proposal=None, *, whole_pool: bool = True) -> MapState:
    """The map of an :class:`ActiveLoop` now: its labelled set and the given proposal (default:
    the pending one; without one, no subpool, anchors or batch); the whole pool, by default."""
    proposal = loop.pending if proposal is None else proposal
    common = dict(
        classes=loop.classes,
        minority=loop.minority,
        labelled_ids=loop.labelled_ids,
        labelled_classes=loop.labelled_classes,
        embeddings=loop.embeddings,
        whole_pool=whole_pool,
    )
    if proposal is None:
        return map_state(projection, iteration=loop.iteration, **common)
    subpool = [] if loop.config["pool_filter"] == "none" else proposal.subpool_ids
    return map_state(
        projection,
        iteration=proposal.iteration,
        subpool_ids=subpool,
        subpool_scores=proposal.subpool_scores,
        anchor_ids=proposal.anchor_ids,
        anchor_classes=proposal.anchor_classes,
        batch_ids=proposal.batch_ids,
        batch_anchors=proposal.batch_retrieved_by,
        **common,
    )
