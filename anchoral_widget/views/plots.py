"""The map of the pool, as pure functions (the live curves are in :mod:`.curves`, and
re-exported here: one import for every figure builder).

- :func:`map_state` gathers one iteration's layers (pool sample, subpool with its scores,
  labelled items, anchors, batch) with their 2-D positions;
- :func:`map_figure` draws it with plotly;
- :func:`map_update_payload` encodes what changed since the previous state for the front end
  (format in its docstring; :func:`decode_payload` reads it back).

Every trace has a ``uid`` naming its layer (``"pool"``, ``"subpool"``, ``"labelled:<class
index>"``, ``"anchors:<class index>"``, ``"batch"``) and ``customdata`` holding pool ids, so a
front end or a test can find a layer and its points.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

POOL_COLOUR = "#9e9e9e"
SUBPOOL_COLOUR = "#6baed6"  # subpools without scores (randsub, none)
BATCH_COLOUR = "#e6007e"
SCORE_COLOURSCALE = "Viridis"
MINORITY_COLOURS = ("#d62728", "#ff7f0e", "#9467bd", "#e377c2", "#8c564b", "#bcbd22")
MAJORITY_COLOURS = ("#1f77b4", "#2ca02c", "#17becf", "#7f7f7f", "#393b79", "#637939")
ANCHOR_SYMBOLS = ("diamond", "star", "square", "triangle-up", "cross", "x", "pentagon", "hexagram")
LAYERS = ("pool", "subpool", "labelled", "anchors", "batch")


def class_colours(classes: Sequence, minority: Sequence) -> dict:
    """Class name -> colour: warm colours for minority classes, cool ones for the others, in
    class order, so the same classes always get the same colours."""
    minority = set(minority)
    out, m, o = {}, 0, 0
    for c in classes:
        if c in minority:
            out[c] = MINORITY_COLOURS[m % len(MINORITY_COLOURS)]
            m += 1
        else:
            out[c] = MAJORITY_COLOURS[o % len(MAJORITY_COLOURS)]
            o += 1
    return out


def anchor_symbol(class_index: int) -> str:
    return ANCHOR_SYMBOLS[class_index % len(ANCHOR_SYMBOLS)]


# ---- the map's data ---------------------------------------------------------------------


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
        if other is None or not np.array_equal(self.ids, other.ids) or not np.array_equal(self.xy, other.xy):
            return False
        if (self.values is None) != (other.values is None):
            return False
        return self.values is None or np.array_equal(self.values, other.values)


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
) -> MapState:
    """The layers of one iteration, placed by ``projection`` (a ready :class:`Projection`).
    Class arguments are class indices. Each batch item records the anchor that retrieved it:
    ``batch_anchors`` as the loop recorded them, else (with ``embeddings``) the most similar."""
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
        pool=Layer(_ids(projection.sample_ids_), np.asarray(projection.sample_xy_, np.float32)),
        subpool=Layer(subpool_ids, pos(subpool_ids), scores),
        labelled=Layer(labelled_ids, pos(labelled_ids), _ids(labelled_classes)),
        anchors=Layer(anchor_ids, pos(anchor_ids), _ids(anchor_classes)),
        batch=Layer(batch_ids, pos(batch_ids), anchor_of),
    )


def map_state_from_loop(loop, projection, proposal=None) -> MapState:
    """The map of an :class:`ActiveLoop` now: its labelled set and the given proposal (default:
    the pending one; without one, no subpool, anchors or batch)."""
    proposal = loop.pending if proposal is None else proposal
    common = dict(
        classes=loop.classes,
        minority=loop.minority,
        labelled_ids=loop.labelled_ids,
        labelled_classes=loop.labelled_classes,
        embeddings=loop.embeddings,
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


# ---- the map figure -----------------------------------------------------------------------


def _hover(ids: np.ndarray, texts, text_chars: int, prefix: Sequence[str] | None = None) -> list[str] | None:
    if texts is None and prefix is None:
        return None
    out = []
    for n, i in enumerate(ids.tolist()):
        line = f"#{i}" + ("" if prefix is None else f" {prefix[n]}")
        if texts is not None and text_chars > 0:
            text = str(texts[i])
            line += "<br>" + (text if len(text) <= text_chars else text[: text_chars - 1] + "…")
        out.append(line)
    return out


def _of_class(layer: Layer, index: int) -> Layer:
    if layer.values is None:
        return Layer.empty()
    keep = layer.values == index
    return Layer(layer.ids[keep], layer.xy[keep])


def map_traces(state: MapState, *, texts=None, text_chars: int = 160, pool_hover: bool = True) -> list[dict]:
    """The map's traces as plain dicts, bottom layer first (see :func:`map_figure`)."""
    colours = class_colours(state.classes, state.minority)
    # minority classes drawn last, so that their few points are not buried under the majority's
    order = sorted(range(len(state.classes)), key=lambda i: state.classes[i] in set(state.minority))

    def xy(layer):
        return {"x": layer.xy[:, 0], "y": layer.xy[:, 1], "customdata": layer.ids}

    traces = [
        dict(
            type="scattergl",
            uid="pool",
            name="pool sample",
            mode="markers",
            **xy(state.pool),
            marker={"size": 3, "color": POOL_COLOUR, "opacity": 0.3},
            hovertext=_hover(state.pool.ids, texts if pool_hover else None, text_chars),
            hoverinfo="text" if texts is not None and pool_hover else "skip",
        )
    ]
    sub = state.subpool
    if sub.values is not None:
        sub_marker = {
            "size": 6,
            "color": sub.values,
            "colorscale": SCORE_COLOURSCALE,
            "opacity": 0.85,
            "colorbar": {"title": {"text": "score"}, "thickness": 12, "len": 0.6},
        }
        sub_prefix = [f"score {v:.3f}" for v in sub.values.tolist()]
    else:
        sub_marker, sub_prefix = {"size": 6, "color": SUBPOOL_COLOUR, "opacity": 0.75}, None
    traces.append(
        dict(
            type="scattergl",
            uid="subpool",
            mode="markers",
            **xy(sub),
            marker=sub_marker,
            name="subpool (AnchorAL score)" if sub.values is not None else "subpool",
            hovertext=_hover(sub.ids, texts, text_chars, sub_prefix),
            hoverinfo="text",
        )
    )
    for i in order:
        c = state.classes[i]
        layer = _of_class(state.labelled, i)
        traces.append(
            dict(
                type="scattergl",
                uid=f"labelled:{i}",
                name=f"labelled: {c}",
                mode="markers",
                **xy(layer),
                marker={"size": 7, "color": colours[c], "line": {"width": 0.5, "color": "white"}},
                hovertext=_hover(layer.ids, texts, text_chars, [str(c)] * len(layer)),
                hoverinfo="text",
            )
        )
    for i in order:
        c = state.classes[i]
        layer = _of_class(state.anchors, i)
        traces.append(
            dict(
                type="scatter",
                uid=f"anchors:{i}",
                name=f"anchors: {c}",
                mode="markers",
                **xy(layer),
                marker={
                    "size": 15,
                    "symbol": anchor_symbol(i),
                    "color": colours[c],
                    "line": {"width": 1.5, "color": "black"},
                },
                hovertext=_hover(layer.ids, texts, text_chars, [f"anchor ({c})"] * len(layer)),
                hoverinfo="text",
            )
        )
    batch = state.batch
    prefix = (
        [("batch" if a < 0 else f"batch, via anchor #{a}") for a in batch.values.tolist()]
        if batch.values is not None
        else None
    )
    traces.append(
        dict(
            type="scatter",
            uid="batch",
            name="batch",
            mode="markers",
            **xy(batch),
            marker={"size": 17, "symbol": "circle-open", "color": BATCH_COLOUR, "line": {"width": 2.5}},
            hovertext=_hover(batch.ids, texts, text_chars, prefix),
            hoverinfo="text",
        )
    )
    return traces


def map_figure(
    state: MapState,
    *,
    texts=None,
    text_chars: int = 160,
    pool_hover: bool = True,
    title: str | None = None,
    height: int = 480,
):
    """The map as a plotly figure: the pool sample (faint), the subpool coloured by score, the
    labelled items and the anchors of each class (one marker symbol per class), the batch
    ringed. WebGL for the layers that can be large. Hover shows an item's id and text (pool
    sample too unless ``pool_hover=False``); ``customdata`` holds the ids, for click handlers."""
    import plotly.graph_objects as go

    fig = go.Figure(data=map_traces(state, texts=texts, text_chars=text_chars, pool_hover=pool_hover))
    fig.update_layout(
        title={"text": title or f"iteration {state.iteration}"},
        height=height,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        xaxis={"visible": False},
        yaxis={"visible": False, "scaleanchor": "x"},
        legend={"orientation": "h", "y": -0.02, "yanchor": "top", "font": {"size": 10}},
        plot_bgcolor="white",
        uirevision="map",
        clickmode="event",
        hovermode="closest",
    )
    return fig


# ---- the map's per-iteration update ----------------------------------------------------------


def _buffer(buffers: list, array: np.ndarray, dtype: str) -> dict:
    array = np.ascontiguousarray(array, dtype=np.dtype(dtype).newbyteorder("<"))
    buffers.append(array.tobytes())
    return {"buffer": len(buffers) - 1, "dtype": dtype, "shape": list(array.shape)}


def _encode_layer(buffers: list, layer: Layer, value_name: str | None, value_dtype: str) -> dict:
    out = {"ids": _buffer(buffers, layer.ids, "int32"), "xy": _buffer(buffers, layer.xy, "float32")}
    if value_name is not None and layer.values is not None:
        out[value_name] = _buffer(buffers, layer.values, value_dtype)
    return out


_VALUES = {
    "pool": (None, ""),
    "subpool": ("scores", "float32"),
    "labelled": ("classes", "int32"),
    "anchors": ("classes", "int32"),
    "batch": ("anchor", "int32"),
}


def map_update_payload(
    previous: MapState | None, current: MapState, *, texts=None, text_chars: int = 120
) -> tuple[dict, list[bytes]]:
    """What the front end needs to go from ``previous`` to ``current``: a small JSON header
    and binary buffers (``widget.send(header, buffers)``).

    Format (version 1)::

        {"kind": "map_update", "version": 1, "iteration": int,
         "full": bool,               # true: drop every layer first (first message, new pool)
         "classes": [...], "minority": [...], "colours": {class: "#rrggbb"},
         "symbols": [one marker symbol per class index],        # these four only when full
         "layers": {                 # a layer that is absent here is unchanged
            "pool":     {"ids": A, "xy": A},
            "subpool":  {"ids": A, "xy": A, "scores": A?},      # scores absent: unscored
            "labelled": {"mode": "append" | "replace", "ids": A, "xy": A, "classes": A},
            "anchors":  {"ids": A, "xy": A, "classes": A},
            "batch":    {"ids": A, "xy": A, "anchor": A}},      # anchor: pool id, -1 none
         "texts": {"<id>": "text", ...}}    # hover texts of ids not sent before (no pool)

    Every ``A`` is ``{"buffer": i, "dtype": "int32" | "float32", "shape": [n] or [n, 2]}``:
    buffer ``i`` holds the array's bytes, little-endian, C order (``xy`` is x0, y0, x1, y1,
    ...). ``classes`` are indices into ``classes``. Layers other than ``labelled`` are
    replaced whole; ``labelled`` appends the new items, or is replaced after an undo.
    """
    full = previous is None or previous.classes != current.classes or not current.pool.same_as(previous.pool)
    buffers: list[bytes] = []
    header: dict[str, Any] = {"kind": "map_update", "version": 1, "iteration": current.iteration, "full": full}
    layers: dict[str, dict] = {}
    if full:
        header.update(
            classes=[_plain(c) for c in current.classes],
            minority=[_plain(c) for c in current.minority],
            colours={str(k): v for k, v in class_colours(current.classes, current.minority).items()},
            symbols=[anchor_symbol(i) for i in range(len(current.classes))],
        )
        layers["pool"] = _encode_layer(buffers, current.pool, None, "")
    for name in ("subpool", "anchors", "batch"):
        layer = getattr(current, name)
        if full or not layer.same_as(getattr(previous, name)):
            layers[name] = _encode_layer(buffers, layer, *_VALUES[name])
    old = None if full else previous.labelled
    if old is None or not np.isin(old.ids, current.labelled.ids).all():
        layers["labelled"] = {"mode": "replace", **_encode_layer(buffers, current.labelled, "classes", "int32")}
    else:
        new = ~np.isin(current.labelled.ids, old.ids)
        if new.any():
            part = Layer(current.labelled.ids[new], current.labelled.xy[new], current.labelled.values[new])
            layers["labelled"] = {"mode": "append", **_encode_layer(buffers, part, "classes", "int32")}
    header["layers"] = layers
    if texts is not None:
        sent = set() if full else set(np.concatenate([getattr(previous, n).ids for n in LAYERS[1:]]).tolist())
        fresh = []
        for name in LAYERS[1:]:
            if name in layers:
                fresh.extend(i for i in getattr(current, name).ids.tolist() if i not in sent)
        header["texts"] = {str(i): _clip(texts[i], text_chars) for i in dict.fromkeys(fresh)}
    return header, buffers


def decode_payload(header: dict, buffers: Sequence[bytes]) -> dict:
    """The arrays of a :func:`map_update_payload` message: layer -> field -> array (what a
    front end does with typed arrays; for tests and for reading the format)."""
    out = {}
    for name, fields in header["layers"].items():
        out[name] = {}
        for key, ref in fields.items():
            if key == "mode":
                out[name][key] = ref
                continue
            array = np.frombuffer(buffers[ref["buffer"]], dtype=np.dtype(ref["dtype"]).newbyteorder("<"))
            out[name][key] = array.reshape(ref["shape"])
    return out


def payload_bytes(header: dict, buffers: Sequence[bytes]) -> int:
    """Size of a message: its JSON header plus its buffers."""
    import json

    return len(json.dumps(header).encode()) + sum(len(b) for b in buffers)


def _clip(text, chars: int) -> str:
    text = str(text)
    return text if len(text) <= chars else text[: chars - 1] + "…"


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value
